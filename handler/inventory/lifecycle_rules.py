"""Which lifecycle rule would remove an incomplete multipart upload, and from when.

Pure functions of a bucket's rules, an upload's key and its initiation time; no I/O.

OBS (like S3) counts whole days: an upload's clock starts at 00:00 UTC of the calendar
day after it was initiated, and the rule's ``DaysAfterInitiation`` are added to that
midnight ("OBS starts calculating an object's lifecycle at 00:00 (UTC) on the calendar
day following its last modification",
https://support.huaweicloud.com/eu/obs_faq/obs_faq_101609.html). Execution then lags:
"there may be a delay of up to 48 hours in ... deleting expired objects"
(https://support.huaweicloud.com/intl/en-us/usermanual-obs/obs_03_0335.html). So a
covered upload may go from ``eligible_from`` and should be gone by ``expected_by``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# OBS's documented worst-case delay between eligibility and removal.
LIFECYCLE_LAG = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class AbortRule:
    """One lifecycle rule as far as incomplete uploads are concerned.

    ``days_after_initiation`` is None when the rule has no AbortIncompleteMultipartUpload
    action (it only expires or transitions objects): such a rule never removes uploads.
    """

    rule_id: str
    prefix: str
    enabled: bool
    days_after_initiation: int | None

    def __post_init__(self) -> None:
        days = self.days_after_initiation
        if days is not None and (isinstance(days, bool) or days < 0):
            raise ValueError(f"days_after_initiation must be >= 0, got {days!r}")

    @property
    def aborts_uploads(self) -> bool:
        return self.enabled and self.days_after_initiation is not None

    def matches(self, key: str) -> bool:
        return self.aborts_uploads and key.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Coverage:
    """The rule that would remove an upload and the window in which it would go."""

    rule_id: str
    days_after_initiation: int
    eligible_from: datetime
    expected_by: datetime


def eligible_from(initiated: datetime, days: int) -> datetime:
    """00:00 UTC of the day after ``initiated`` (in UTC), plus ``days`` whole days."""
    if initiated.tzinfo is None:
        raise ValueError("initiated must be timezone-aware (OBS times are UTC)")
    day = initiated.astimezone(timezone.utc).date()
    return datetime.combine(day, time(0), tzinfo=timezone.utc) + timedelta(days=days + 1)


def has_abort_rule(rules: Iterable[AbortRule]) -> bool:
    """True when at least one enabled rule aborts incomplete uploads (Storage Lens's flag)."""
    return any(rule.aborts_uploads for rule in rules)


def coverage(rules: Iterable[AbortRule], key: str, initiated: datetime) -> Coverage | None:
    """The enabled abort rule that removes this upload first, or None if none covers it.

    OBS refuses overlapping prefixes, S3 does not; where several rules match, the one
    with the fewest days wins because it removes the upload first (ties: the first listed).
    """
    best: tuple[int, str] | None = None  # (days, rule_id)
    for rule in rules:
        days = rule.days_after_initiation
        if days is None or not rule.matches(key):
            continue
        if best is None or days < best[0]:
            best = (days, rule.rule_id)
    if best is None:
        return None
    days, rule_id = best
    start = eligible_from(initiated, days)
    return Coverage(rule_id, days, start, start + LIFECYCLE_LAG)


@dataclass(frozen=True, slots=True)
class BucketLifecycle:
    """A bucket's abort rules, kept once per bucket and asked once per upload.

    ``rules`` is empty for a bucket without a lifecycle configuration (404
    NoSuchLifecycleConfiguration is normal, not an error).
    """

    rules: tuple[AbortRule, ...] = ()

    @property
    def has_abort_rule(self) -> bool:
        return has_abort_rule(self.rules)

    def coverage(self, key: str, initiated: datetime) -> Coverage | None:
        return coverage(self.rules, key, initiated)
