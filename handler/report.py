"""The sweep report: counts per bucket, a capped list of per-upload entries, errors.

The detail list is capped (all failures kept, the rest counted) so that a sweep of a
million uploads still replies far under FunctionGraph's 6 MB limit (reference §1.5).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from handler.logs import DecisionLog
    from handler.obs.model import Upload

COUNTERS = (
    "seen", "selected", "aborted", "would_abort", "already_gone", "skipped_young",
    "skipped_active", "skipped_excluded", "skipped_initiator", "failed", "deferred",
)
DEFAULT_DETAIL_CAP = 1000


@dataclass
class SweepReport:
    dry_run: bool
    log: DecisionLog
    detail_cap: int = DEFAULT_DETAIL_CAP
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    bytes_reclaimed: int = 0
    bytes_would_reclaim: int = 0
    pages: int = 0
    clock_skew_s: float | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
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
        self, bucket: str, upload: Upload, outcome: str, server_now: datetime | None, *,
        status: int | None = None, request_id: str | None = None, bytes_: int | None = None,
        error_code: str | None = None, verified: bool | None = None,
    ) -> None:
        """Record one upload's outcome: a count, a log line and (capped) a report entry."""
        age = None
        if upload.initiated is not None and server_now is not None:
            age = round((server_now - upload.initiated).total_seconds(), 1)
        entry = {
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

    def to_dict(self, continuation: dict[str, Any] | None) -> dict[str, Any]:
        summary: dict[str, Any] = {name: self.total(name) for name in COUNTERS}
        summary.update(
            bytes_reclaimed=self.bytes_reclaimed, bytes_would_reclaim=self.bytes_would_reclaim,
            pages=self.pages, clock_skew_s=self.clock_skew_s,
            duration_ms=round((time.monotonic() - self.started) * 1000),
            per_bucket={b: {n: c[n] for n in COUNTERS} for b, c in self.counts.items()},
        )
        return {
            "dry_run": self.dry_run, "summary": summary, "uploads": self.entries,
            "uploads_omitted": self.omitted, "errors": self.errors,
            "continuation": continuation,
        }
