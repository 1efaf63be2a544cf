"""The sweep engine: page through uploads, pick the stale ones, check, abort, report.

Shared by timer sweeps and object events. Listing stays one page at a time; selected
uploads of a page are handled by a bounded thread pool sharing the client's connection
pool. Before every abort the engine checks the time budget (and the max_aborts cap);
what it cannot start is left to a continuation, so nothing selected is lost and nothing
is aborted twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from handler.obs.errors import ListingFailedError, ListingStuckError, ObsTransportError
from handler.obs.paging import iter_part_pages, iter_upload_pages
from handler.result import outcome_of
from handler.selection import server_time

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor
    from datetime import datetime

    from handler.invocation import Invocation
    from handler.obs.client import ObsClient
    from handler.obs.model import GetResult, ListMultipartUploadsResponse, Upload
    from handler.report import SweepReport
    from handler.selection import Policy


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the listing of (bucket, prefix): resume after these markers."""

    bucket: str
    prefix: str
    key_marker: str | None = None
    upload_id_marker: str | None = None
    # With a delimiter, only the uploads directly under the prefix (a fan-out root shard).
    delimiter: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    state: Literal["inactive", "active", "gone", "failed", "deferred"]
    bytes: int = 0
    result: GetResult | None = None
    error_code: str | None = None


class Sweeper:
    def __init__(
        self, invocation: Invocation, client: ObsClient, policy: Policy, report: SweepReport,
        *, dry_run: bool, check_activity: bool, max_aborts: int | None,
        verify_aborts: bool = True, max_consecutive_failures: int = 10,
    ) -> None:
        self.invocation = invocation
        self.client = client
        self.policy = policy
        self.report = report
        self.dry_run = dry_run
        self.check_activity = check_activity
        self.max_aborts = max_aborts
        self.verify_aborts = verify_aborts
        self.max_consecutive_failures = max_consecutive_failures
        self._aborts_started = 0
        self._consecutive_failures = 0
        self.circuit_open = False
        self._lock = threading.Lock()

    # -- budget and caps -------------------------------------------------------------

    def out_of_time(self) -> bool:
        return self.invocation.budget.expired()

    def cap_reached(self) -> bool:
        with self._lock:
            return self.max_aborts is not None and self._aborts_started >= self.max_aborts

    def _claim_abort(self) -> bool:
        with self._lock:
            if self.max_aborts is not None and self._aborts_started >= self.max_aborts:
                return False
            self._aborts_started += 1
            return True

    def stopping(self) -> bool:
        return self.circuit_open or self.out_of_time() or self.cap_reached()

    def _track(self, bucket: str, outcome: str) -> None:
        """Count consecutive failures; past the limit, open the circuit: start nothing new.

        A run of failures means OBS (or our access to it) is unwell; carrying on would
        only burn the budget and flood the log. What is left goes into the continuation.
        """
        with self._lock:
            if outcome != "failed":
                self._consecutive_failures = 0
                return
            self._consecutive_failures += 1
            tripped = not self.circuit_open and (
                self._consecutive_failures >= self.max_consecutive_failures)
            if tripped:
                self.circuit_open = True
        if tripped:
            self.report.error(bucket, "", f"circuit breaker open after "
                              f"{self.max_consecutive_failures} consecutive failures; stopping")

    # -- listing ---------------------------------------------------------------------

    def run(self, start: Position, pool: ThreadPoolExecutor) -> Position | None:
        """Sweep one (bucket, prefix) from ``start``; return where to resume, or None."""
        bucket, prefix = start.bucket, start.prefix
        markers = (start.key_marker, start.upload_id_marker)
        pages = iter_upload_pages(
            self.client, bucket, prefix or None, key_marker=markers[0],
            upload_id_marker=markers[1], deadline=self.invocation.budget.deadline,
            delimiter=start.delimiter,
        )
        try:
            for result in pages:
                page: ListMultipartUploadsResponse = result.body
                self.report.pages += 1
                resume = self._page(bucket, result, page, markers, pool)
                if resume is not None:
                    return Position(bucket, prefix, *resume, start.delimiter)
                markers = (page.nextKeyMarker, page.nextUploadIdMarker)
                if page.isTruncated and self.stopping():
                    return Position(bucket, prefix, *markers, start.delimiter)
        except ListingStuckError as exc:
            self.report.error(bucket, prefix, str(exc))
        except ListingFailedError as exc:
            self.report.error(bucket, prefix, str(exc), status=exc.result.status,
                              errorCode=exc.result.errorCode)
        except ObsTransportError as exc:
            # The listing itself could not be read: resume here next time.
            self.report.error(bucket, prefix, str(exc))
            return Position(bucket, prefix, *markers, start.delimiter)
        return None

    def _page(
        self, bucket: str, result: GetResult, page: ListMultipartUploadsResponse,
        markers: tuple[str | None, str | None], pool: ThreadPoolExecutor,
    ) -> tuple[str | None, str | None] | None:
        """Judge and handle one page; return resume markers if work was left undone."""
        server_now = server_time(result)
        if server_now is not None:
            self.report.observe_clock(server_now)
        work: list[tuple[int, Future[bool]]] = []
        for index, upload in enumerate(page.upload):
            self.report.count(bucket, "seen")
            if server_now is None:
                # No server clock, no age: when in doubt, keep the upload.
                self.report.decide(bucket, upload, "skipped_young", None, error_code="NoServerDate")
                continue
            verdict = self.policy.judge(upload, server_now)
            if verdict == "skipped_other_key":
                continue
            if verdict != "selected":
                self.report.decide(bucket, upload, verdict, server_now)
                continue
            self.report.count(bucket, "selected")
            work.append((index, pool.submit(self.handle, bucket, upload, server_now)))
        deferred = [index for index, future in work if not future.result()]
        if not deferred:
            return None
        self.report.count(bucket, "deferred", len(deferred))
        first = deferred[0]
        if first == 0:
            return markers
        before = page.upload[first - 1]
        return before.key, before.uploadId

    # -- one upload ------------------------------------------------------------------

    def handle(self, bucket: str, upload: Upload, server_now: datetime) -> bool:
        """Check and abort one selected upload; False if it was left for later."""
        if self.stopping():
            return False
        size: int | None = None
        if self.check_activity:
            activity = self.activity(bucket, upload, server_now)
            if activity.state == "deferred":
                return False
            if activity.state != "inactive":
                outcome = {"active": "skipped_active", "gone": "already_gone"}.get(
                    activity.state, "failed")
                self._decide(bucket, upload, outcome, server_now, activity.result,
                             activity.error_code)
                return True
            size = activity.bytes
        if not self._claim_abort() or self.out_of_time():
            return False
        if self.dry_run:
            self.report.decide(bucket, upload, "would_abort", server_now, bytes_=size)
            return True
        try:
            result = self.client.abortMultipartUpload(
                bucket, upload.key, upload.uploadId, deadline=self.invocation.budget.deadline)
        except ObsTransportError:
            self._decide(bucket, upload, "failed", server_now, None, "TransportError")
            return True
        verified: bool | None = None
        error_code = result.errorCode
        outcome = outcome_of(result)
        if outcome == "aborted" and self.verify_aborts:
            verified = self.verify(bucket, upload)
            if verified is False:
                outcome, error_code = "failed", "StillListed"
        self._decide(bucket, upload, outcome, server_now, result, error_code, size, verified)
        return True

    def verify(self, bucket: str, upload: Upload, repeats: int = 2) -> bool | None:
        """Confirm an abort took: S3's guidance is that an abort racing a part upload may
        need repeating, and servers have answered 204 while keeping the upload. True when
        gone, False when still listed after ``repeats`` more aborts, None when unknown."""
        deadline = self.invocation.budget.deadline
        for attempt in range(repeats + 1):
            try:
                check = self.client.listParts(bucket, upload.key, upload.uploadId, max_parts=1,
                                              deadline=deadline)
                if check.status == 404:
                    return True
                if not check.ok or attempt == repeats or self.out_of_time():
                    return None if not check.ok else False
                self.client.abortMultipartUpload(bucket, upload.key, upload.uploadId,
                                                 deadline=deadline)
            except ObsTransportError:
                return None
        return False

    def _decide(self, bucket: str, upload: Upload, outcome: str, server_now: datetime,
                result: GetResult | None, error_code: str | None, size: int | None = None,
                verified: bool | None = None) -> None:
        self._track(bucket, outcome)
        self.report.decide(
            bucket, upload, outcome, server_now,
            status=result.status if result else None,
            request_id=result.requestId if result else None,
            bytes_=size if outcome == "aborted" else None, error_code=error_code,
            verified=verified,
        )

    def activity(self, bucket: str, upload: Upload, server_now: datetime) -> Activity:
        """List the upload's parts: active if any is young, and the bytes it holds."""
        total = 0
        try:
            for result in iter_part_pages(self.client, bucket, upload.key, upload.uploadId,
                                          deadline=self.invocation.budget.deadline):
                if result.status == 404:
                    gone = outcome_of(result) == "already_gone"
                    return Activity("gone" if gone else "failed", result=result,
                                    error_code=result.errorCode)
                now = server_time(result) or server_now
                if self.policy.is_active(result.body.parts, now):
                    return Activity("active", result=result)
                total += sum(part.size or 0 for part in result.body.parts)
                if self.out_of_time():
                    return Activity("deferred")
        except ListingFailedError as exc:
            return Activity("failed", result=exc.result, error_code=exc.result.errorCode)
        except ListingStuckError:
            return Activity("failed", error_code="ListingStuck")
        except ObsTransportError:
            return Activity("failed", error_code="TransportError")
        return Activity("inactive", bytes=total)
