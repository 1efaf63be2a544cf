"""Which uploads a sweep may abort: pure functions of the listing and the server's clock.

Ages are measured on OBS's clock (the responses' Date header), never the function's:
a runner with a skewed clock must not shift the cutoff (peer-tools §2.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime, timedelta

    from handler.obs.model import GetResult, Part, Upload

Verdict = Literal[
    "selected", "skipped_young", "skipped_excluded", "skipped_initiator", "skipped_other_key"
]


def server_time(result: GetResult) -> datetime | None:
    """The Date header of an OBS response as an aware datetime; None if absent or bad."""
    for name, value in result.header or ():
        if name == "date":
            try:
                return parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
    return None


@dataclass(frozen=True, slots=True)
class Policy:
    """A sweep's rules. ``reference_time`` (object events) caps "now" from above."""

    min_age: timedelta
    exclude_prefixes: tuple[str, ...] = ()
    initiator: str | None = None
    exact_key: str | None = None
    reference_time: datetime | None = None

    def cutoff(self, server_now: datetime) -> datetime:
        """Uploads initiated at or before this instant are old enough."""
        now = server_now if self.reference_time is None else min(server_now, self.reference_time)
        return now - self.min_age

    def judge(self, upload: Upload, server_now: datetime) -> Verdict:
        if self.exact_key is not None and upload.key != self.exact_key:
            return "skipped_other_key"
        if any(upload.key.startswith(prefix) for prefix in self.exclude_prefixes):
            return "skipped_excluded"
        if self.initiator is not None and upload.initiator.id != self.initiator:
            return "skipped_initiator"
        # An upload whose start time is unknown is not known to be old: keep it.
        if upload.initiated is None or upload.initiated > self.cutoff(server_now):
            return "skipped_young"
        return "selected"

    def is_active(self, parts: Iterable[Part], server_now: datetime) -> bool:
        """True when any part arrived within min_age on the server's clock (or its time
        is unknown): the uploader may still be working."""
        threshold = server_now - self.min_age
        return any(p.lastModified is None or p.lastModified > threshold for p in parts)
