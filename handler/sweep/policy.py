"""Which uploads a sweep may abort: pure functions of the listing and the server's clock.

Ages are measured on OBS's clock (the responses' Date header), never the function's: a
runner with a skewed clock must not shift the cutoff (rclone and obsutil use the local
clock; S3's lifecycle rules use the service's). The engine decides which clock it trusts
(handler/sweep/clock.py); these rules only compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime, timedelta

    from handler.obs.listings import Part, Upload

Verdict = Literal[
    "selected", "skipped_young", "skipped_excluded", "skipped_initiator", "skipped_outside",
    "skipped_clock", "skipped_other_key",
]


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

    def judge(self, upload: Upload, server_now: datetime | None, prefix: str = "",
              delimiter: str | None = None) -> Verdict:
        """What to do with one listed upload of the listing of ``prefix``; with no
        trusted clock (``server_now`` None) nothing is selected."""
        if self.exact_key is not None and upload.key != self.exact_key:
            return "skipped_other_key"
        # The server's answer is checked, not trusted: a server that ignores prefix= must
        # not get an upload outside it (or under an excluded prefix) aborted.
        if not upload.key.startswith(prefix) or (
                delimiter and delimiter in upload.key[len(prefix):]):
            return "skipped_outside"
        if any(upload.key.startswith(excluded) for excluded in self.exclude_prefixes):
            return "skipped_excluded"
        if self.initiator is not None and upload.initiator.id != self.initiator:
            return "skipped_initiator"
        if server_now is None:
            return "skipped_clock"
        # An upload whose start time is unknown is not known to be old: keep it.
        if upload.initiated is None or upload.initiated > self.cutoff(server_now):
            return "skipped_young"
        return "selected"

    def is_active(self, parts: Iterable[Part], server_now: datetime) -> bool:
        """True when any part arrived within min_age on the server's clock (or its time
        is unknown): the uploader may still be working."""
        threshold = server_now - self.min_age
        return any(p.lastModified is None or p.lastModified > threshold for p in parts)
