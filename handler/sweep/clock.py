"""The cautious clock: which "now" a listing page is judged by, or why none can be.

Ages are measured on OBS's clock, the Date header of the listing that selected an upload,
while that clock agrees with the function's within ``max_skew``. Beyond the bound, or with
a Date that is missing or absurd, the page aborts nothing (the report says why). Within one
listing, a later page can only move "now" forward as far as the time that really passed
since the first page: no page of a listing, and no parts page, makes an upload older than
the clock of the listing that selected it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from handler.obs.dates import header_date

if TYPE_CHECKING:
    from handler.obs.model import GetResult


def server_time(result: GetResult) -> datetime | None:
    """The Date header of an OBS response, aware UTC; None if absent or unusable (no zone,
    ``-0000``, an absurd year): handler/obs/dates.py has the one parser."""
    return header_date(result.header)


@dataclass
class ListingClock:
    """The clock of one listing (one cursor's run through its pages)."""

    max_skew: timedelta
    _anchor: tuple[datetime, float] | None = None  # (server time, time.monotonic()) at page 1

    def now(self, result: GetResult) -> tuple[datetime | None, str | None]:
        """The instant to judge this page by, or None and the reason it can't be trusted."""
        date = server_time(result)
        if date is None:
            return None, "the listing's Date header is missing or unreadable"
        skew = (date - datetime.now(timezone.utc)).total_seconds()
        if abs(skew) > self.max_skew.total_seconds():
            return None, (f"OBS's clock differs from the function's by {skew:+.0f} s, beyond "
                          f"the {self.max_skew.total_seconds():.0f} s bound "
                          "(SWEEP_MAX_CLOCK_SKEW); this page aborted nothing")
        mono = time.monotonic()
        if self._anchor is None:
            self._anchor = (date, mono)
            return date, None
        projected = self._anchor[0] + timedelta(seconds=max(0.0, mono - self._anchor[1]))
        return min(date, projected), None
