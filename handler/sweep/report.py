"""The sweep report: counts per bucket, a capped list of per-upload entries, errors.

The detail list is capped (all failures kept, the rest counted) so that a sweep of a
million uploads still replies far under FunctionGraph's 6 MB limit; the entry point's
``fit_reply`` is the last guard.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from datetime import datetime

    from handler.logs import DecisionLog
    from handler.obs.listings import Upload
    from handler.result import Outcome

COUNTERS = (
    "seen", "selected", "aborted", "would_abort", "already_gone", "skipped_young",
    "skipped_active", "skipped_excluded", "skipped_initiator", "skipped_outside",
    "skipped_clock", "invalid_entry", "failed", "deferred",
)
DEFAULT_DETAIL_CAP = 1000
_BYTES_PER_GB = 1024 ** 3  # OBS bills storage per GB of 2^30 bytes


class SweepEntry(TypedDict, total=False):
    bucket: str
    key: str
    uploadId: str
    initiated: str | None
    age_s: float | None
    outcome: Outcome
    status: int | None
    requestId: str | None
    bytes: int | None
    errorCode: str
    verified: bool


class SweepReply(TypedDict):
    dry_run: bool
    summary: dict[str, Any]
    uploads: list[SweepEntry]
    uploads_omitted: int
    errors: list[dict[str, Any]]
    continuation: dict[str, Any] | None


@dataclass
class SweepReport:
    """What a sweep did, as it happens: counters, capped entries, errors, one log line each."""

    dry_run: bool
    log: DecisionLog
    price_per_gb_month: float | None = None
    detail_cap: int = DEFAULT_DETAIL_CAP
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    bytes_reclaimed: int = 0
    bytes_would_reclaim: int = 0
    pages: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    clock_skew_s: float | None = None
    entries: list[SweepEntry] = field(default_factory=list)
    omitted: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, bucket: str, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts.setdefault(bucket, Counter())[name] += n

    def observe_clock(self, server_now: datetime) -> None:
        with self._lock:
            self.clock_skew_s = round(server_now.timestamp() - time.time(), 3)

    def decide(
        self, bucket: str, upload: Upload, outcome: Outcome, server_now: datetime | None, *,
        status: int | None = None, request_id: str | None = None, bytes_: int | None = None,
        error_code: str | None = None, verified: bool | None = None,
    ) -> None:
        """Record one upload's outcome: a count, a log line and (capped) a report entry."""
        age = None
        if upload.initiated is not None and server_now is not None:
            age = round((server_now - upload.initiated).total_seconds(), 1)
        entry: SweepEntry = {
            "bucket": bucket, "key": upload.key, "uploadId": upload.uploadId,
            "initiated": upload.initiated.isoformat() if upload.initiated else None,
            "age_s": age, "outcome": outcome, "status": status, "requestId": request_id,
            "bytes": bytes_,
        }
        if error_code:
            entry["errorCode"] = error_code
        if verified is not None:
            entry["verified"] = verified
        self.log.decision("sweep", **entry)
        with self._lock:
            self.counts.setdefault(bucket, Counter())[outcome] += 1
            if outcome == "aborted" and bytes_:
                self.bytes_reclaimed += bytes_
            if outcome == "would_abort" and bytes_:
                self.bytes_would_reclaim += bytes_
            if outcome == "failed" or len(self.entries) < self.detail_cap:
                self.entries.append(entry)
            else:
                self.omitted += 1

    def error(self, bucket: str, prefix: str, message: str, **extra: Any) -> None:
        record = {"bucket": bucket, "prefix": prefix, "error": message, **extra}
        self.log.decision("sweep_error", **record)
        with self._lock:
            self.errors.append(record)

    def total(self, name: str) -> int:
        return sum(counter[name] for counter in self.counts.values())

    @property
    def clean(self) -> bool:
        """Nothing failed and nothing went wrong (the exit status of ``sweep``)."""
        return not self.errors and self.total("failed") == 0

    def _cost(self, size: int) -> float | None:
        if self.price_per_gb_month is None:
            return None
        return round(size / _BYTES_PER_GB * self.price_per_gb_month, 6)

    def to_dict(self, continuation: dict[str, Any] | None) -> SweepReply:
        summary: dict[str, Any] = {name: self.total(name) for name in COUNTERS}
        summary.update(
            bytes_reclaimed=self.bytes_reclaimed, bytes_would_reclaim=self.bytes_would_reclaim,
            cost_reclaimed=self._cost(self.bytes_reclaimed),
            cost_would_reclaim=self._cost(self.bytes_would_reclaim),
            pages=self.pages, requests=dict(self.requests), clock_skew_s=self.clock_skew_s,
            duration_ms=round((time.monotonic() - self.started) * 1000),
            per_bucket={b: {n: c[n] for n in COUNTERS} for b, c in self.counts.items()},
        )
        return {
            "dry_run": self.dry_run, "summary": summary, "uploads": self.entries,
            "uploads_omitted": self.omitted, "errors": self.errors,
            "continuation": continuation,
        }
