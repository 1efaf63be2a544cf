"""The sweep engine: page through uploads, pick the stale ones, check, abort, confirm.

Shared by timer sweeps, fan-out shards and object events. Listing goes one page at a
time; the selected uploads of a page are handled by a bounded thread pool sharing the
client's connection pool. Before every abort the engine checks the time budget (and the
max_aborts cap); what it cannot start is left to a continuation, so nothing selected is
lost and nothing is aborted twice.

Per upload, the defaults make two requests: ListParts (is a part young? how many bytes?)
and the abort. One more listing per page confirms the page's aborts (S3's guidance: an
abort racing a part upload may need repeating) and every "already gone" (a server that
answers 404 for a key it mis-decoded has not removed anything).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from handler.obs.errors import ListingFailedError, ListingStuckError, ObsError, ObsTransportError
from handler.obs.paging import iter_part_pages, iter_upload_pages
from handler.result import Refusal, bucket_not_allowed, missing_credentials, outcome_of
from handler.sweep.clock import ListingClock, server_time
from handler.sweep.report import SweepReport

if TYPE_CHECKING:
    from collections.abc import Iterable
    from concurrent.futures import Future, ThreadPoolExecutor
    from datetime import datetime

    from handler.events.timer import Cursor, SweepSettings
    from handler.obs.client import ObsClient
    from handler.obs.listings import ListMultipartUploadsResponse, Upload
    from handler.obs.model import GetResult
    from handler.result import Outcome
    from handler.runtime import Budget, Invocation
    from handler.settings import Settings
    from handler.sweep.policy import Policy

Markers = tuple[str | None, str | None]
# 404 codes that may mean "this upload is gone": OBS and S3 say NoSuchUpload; Ceph RGW's
# ListParts says NoSuchKey. Either is confirmed by listing before it is believed.
_GONE_CODES = frozenset({"NoSuchUpload", "NoSuchKey"})


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How the engine works, whatever asked for the sweep."""

    dry_run: bool = False
    check_activity: bool = True
    verify_aborts: bool = True
    verify_mode: Literal["listing", "parts"] = "listing"
    max_aborts: int | None = None
    max_consecutive_failures: int = 10
    concurrency: int = 16
    max_clock_skew: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, sweep: SweepSettings, config: Settings) -> EngineOptions:
        return cls(
            dry_run=sweep.dry_run, check_activity=sweep.check_activity,
            verify_aborts=sweep.verify_aborts, verify_mode=sweep.verify_mode,
            max_aborts=sweep.max_aborts, max_consecutive_failures=sweep.max_consecutive_failures,
            concurrency=sweep.concurrency, max_clock_skew=config.max_clock_skew,
        )


@dataclass(frozen=True, slots=True)
class Activity:
    state: Literal["inactive", "active", "gone", "failed", "deferred"]
    bytes: int = 0
    result: GetResult | None = None
    error_code: str | None = None


@dataclass(slots=True)
class Pending:
    """One handled upload, its outcome not yet final until the page is confirmed."""

    upload: Upload
    outcome: Outcome
    result: GetResult | None = None
    error_code: str | None = None
    size: int | None = None
    verified: bool | None = None
    # What the page's confirming listing must check: an abort that took, or a 404 that
    # said the upload is gone.
    confirm: Literal["abort", "gone"] | None = None


@dataclass(slots=True)
class ListingGuard:
    """What a server's listing must satisfy before anything in it is acted on: markers
    that move strictly forward, and each upload handed out once."""

    _paged: bool = False  # True once this listing's server handed out a marker
    _marker_key: str | None = None
    _marker_ids: set[str] = field(default_factory=set)
    _recent: set[tuple[str, str]] = field(default_factory=set)
    _previous: set[tuple[str, str]] = field(default_factory=set)

    def first_time(self, upload: Upload, request: Markers) -> bool:
        """False for an upload already handed out: on this page or the one before, or
        behind a key marker that this listing's own server handed out.

        A continuation's marker is not held against the first page: a server that
        ignores key-marker (moto) lists everything again, unsorted, and what an earlier
        invocation left undone there must still be found.
        """
        ident = (upload.key, upload.uploadId)
        behind = self._paged and request[0] is not None and upload.key < request[0]
        if behind or ident in self._recent or ident in self._previous:
            return False
        self._recent.add(ident)
        return True

    def advance(self, old: Markers, new: Markers) -> str | None:
        """Move to the next page's markers; the problem if they do not move forward."""
        self._previous, self._recent = self._recent, set()
        key, upload_id = new
        if not key:
            return "the listing did not advance: a truncated page gave no NextKeyMarker"
        if old[0] is not None and key < old[0]:
            return f"the listing's NextKeyMarker went backwards ({old[0]!r} -> {key!r})"
        if key == old[0]:
            if upload_id is None or upload_id == old[1] or upload_id in self._marker_ids:
                return f"the listing's markers did not advance past {key!r}"
        else:
            self._marker_ids = set()
        self._marker_key = key
        self._paged = True
        if upload_id is not None:
            self._marker_ids.add(upload_id)
        return None


def open_sweep(invocation: Invocation, buckets: Iterable[str], options: EngineOptions,
               policy: Policy) -> Sweeper:
    """Allow-list, then credentials, then the engine: a Refusal means nothing was sent."""
    refused = sorted({b for b in buckets if not invocation.settings.bucket_allowed(b)})
    if refused:
        raise Refusal(bucket_not_allowed(", ".join(refused)))
    client = invocation.client()
    if client is None:
        raise Refusal(missing_credentials())
    report = SweepReport(dry_run=options.dry_run, log=invocation.log,
                         price_per_gb_month=invocation.settings.storage_price_per_gb_month)
    return Sweeper(invocation.budget, client, policy, report, options)


class Sweeper:
    """Sweeps listings (``run``) under one policy, budget and set of caps.

    One Sweeper serves one invocation; ``run`` may be called for several cursors in turn
    and from several threads' work, so the counters it shares are locked.
    """

    def __init__(self, budget: Budget, client: ObsClient, policy: Policy, report: SweepReport,
                 options: EngineOptions) -> None:
        self.budget = budget
        self.client = client
        self.policy = policy
        self.report = report
        self.options = options
        self._aborts_started = 0
        self._consecutive_failures = 0
        self.circuit_open = False
        self._lock = threading.Lock()

    # -- budget and caps -------------------------------------------------------------

    def out_of_time(self) -> bool:
        return self.budget.expired()

    def cap_reached(self) -> bool:
        with self._lock:
            cap = self.options.max_aborts
            return cap is not None and self._aborts_started >= cap

    def _claim_abort(self) -> bool:
        with self._lock:
            cap = self.options.max_aborts
            if cap is not None and self._aborts_started >= cap:
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
        limit = self.options.max_consecutive_failures
        with self._lock:
            if outcome != "failed":
                self._consecutive_failures = 0
                return
            self._consecutive_failures += 1
            tripped = not self.circuit_open and self._consecutive_failures >= limit
            if tripped:
                self.circuit_open = True
        if tripped:
            self.report.error(bucket, "", f"circuit breaker open after {limit} consecutive "
                              "failures; stopping")

    # -- listing ---------------------------------------------------------------------

    def run(self, start: Cursor, pool: ThreadPoolExecutor) -> Cursor | None:
        """Sweep one (bucket, prefix) from ``start``; return where to resume, or None."""
        bucket, prefix = start.bucket, start.prefix
        markers: Markers = (start.key_marker, start.upload_id_marker)
        clock = ListingClock(self.options.max_clock_skew)
        guard = ListingGuard()
        pages = iter_upload_pages(
            self.client, bucket, prefix or None, key_marker=markers[0],
            upload_id_marker=markers[1], deadline=self.budget.deadline,
            delimiter=start.delimiter,
        )
        try:
            for result in pages:
                page: ListMultipartUploadsResponse = result.body
                self.report.pages += 1
                self.report.requests["list"] += 1
                resume = self._page(start, result, page, markers, pool, clock, guard)
                if resume is not None:
                    return start.after(*resume)
                if not page.isTruncated:
                    return None
                following = (page.nextKeyMarker, page.nextUploadIdMarker)
                problem = guard.advance(markers, following)
                if problem is not None:
                    self.report.error(bucket, prefix, f"page {self.report.pages}: {problem}; "
                                      "the listing stopped there")
                    return None
                markers = following
                if self.stopping():
                    return start.after(*markers)
        except ListingStuckError as exc:
            self.report.error(bucket, prefix, f"page {self.report.pages + 1}: {exc}")
        except ListingFailedError as exc:
            self.report.error(bucket, prefix, f"page {self.report.pages + 1}: {exc}",
                              status=exc.result.status, errorCode=exc.result.errorCode)
        except ObsTransportError as exc:
            # The listing itself could not be read: resume here next time.
            self.report.error(bucket, prefix, f"page {self.report.pages + 1}: {exc}")
            return start.after(*markers)
        return None

    def _page(self, start: Cursor, result: GetResult, page: ListMultipartUploadsResponse,
              markers: Markers, pool: ThreadPoolExecutor, clock: ListingClock,
              guard: ListingGuard) -> Markers | None:
        """Judge, handle and confirm one page; return resume markers if work was left."""
        bucket = start.bucket
        now, distrust = clock.now(result)
        if distrust is None and now is not None:
            self.report.observe_clock(now)
        else:
            self.report.error(bucket, start.prefix, f"page {self.report.pages}: {distrust}")
            # A real run aborts nothing on this page; a dry run still reports what it
            # would do, on the page's own clock.
            now = server_time(result) if self.options.dry_run else None
        work: list[tuple[int, Future[Pending | None]]] = []
        for index, upload in enumerate(page.upload):
            if not upload.key or not upload.uploadId or not upload.uploadId.strip():
                self.report.count(bucket, "invalid_entry")
                self.report.error(bucket, start.prefix, f"page {self.report.pages}: a listed "
                                  "upload lacks its Key or UploadId; it was not acted on")
                continue
            if not guard.first_time(upload, markers):
                self.report.count(bucket, "repeated")
                continue
            verdict = self.policy.judge(upload, now, start.prefix, start.delimiter)
            if verdict == "skipped_other_key":
                continue
            self.report.count(bucket, "seen")
            if verdict != "selected":
                code = "ClockUntrusted" if verdict == "skipped_clock" else None
                self.report.decide(bucket, upload, verdict, now, error_code=code)
                continue
            assert now is not None  # judge selects nothing without a clock
            self.report.count(bucket, "selected")
            work.append((index, pool.submit(self.handle, bucket, upload, now)))
        handled = [(index, future.result()) for index, future in work]
        done = [pending for _, pending in handled if pending is not None]
        self._confirm(start, markers, done, len(page.upload))
        for pending in done:
            self._decide(bucket, pending, now)
        deferred = [index for index, pending in handled if pending is None]
        if not deferred:
            return None
        self.report.count(bucket, "deferred", len(deferred))
        first = deferred[0]
        if first == 0:
            return markers
        before = page.upload[first - 1]
        return before.key, before.uploadId

    # -- one upload ------------------------------------------------------------------

    def handle(self, bucket: str, upload: Upload, now: datetime) -> Pending | None:
        """Check and abort one selected upload; None if it was left for later.

        The circuit breaker counts each outcome as soon as it is known, so a run of
        failures stops the page's remaining work, not only the next page's.
        """
        pending = self._check_and_abort(bucket, upload, now)
        if pending is not None:
            self._track(bucket, pending.outcome)
        return pending

    def _check_and_abort(self, bucket: str, upload: Upload, now: datetime) -> Pending | None:
        if self.stopping():
            return None
        size: int | None = None
        if self.options.check_activity:
            activity = self.activity(bucket, upload, now)
            if activity.state == "deferred":
                return None
            if activity.state == "active":
                return Pending(upload, "skipped_active", activity.result)
            if activity.state == "gone":
                return Pending(upload, "already_gone", activity.result, activity.error_code,
                               confirm="gone")
            if activity.state == "failed":
                return Pending(upload, "failed", activity.result, activity.error_code)
            size = activity.bytes
        if not self._claim_abort() or self.out_of_time():
            return None
        if self.options.dry_run:
            return Pending(upload, "would_abort", size=size)
        try:
            result = self.abort(bucket, upload)
        except ObsTransportError:
            return Pending(upload, "failed", error_code="TransportError")
        pending = Pending(upload, outcome_of(result), result, result.errorCode, size)
        if pending.outcome == "already_gone":
            pending.confirm = "abort"
        elif pending.outcome == "aborted" and self.options.verify_aborts:
            if self.options.verify_mode == "parts":
                pending.verified = self.verify_by_parts(bucket, upload)
                if pending.verified is False:
                    pending.outcome, pending.error_code = "failed", "StillListed"
            else:
                pending.confirm = "abort"
        return pending

    def abort(self, bucket: str, upload: Upload) -> GetResult:
        with self._lock:
            self.report.requests["abort"] += 1
        return self.client.abortMultipartUpload(bucket, upload.key, upload.uploadId,
                                                deadline=self.budget.deadline)

    def activity(self, bucket: str, upload: Upload, now: datetime) -> Activity:
        """List the upload's parts: active if any is young, and the bytes it holds.

        Part ages are judged on the clock of the listing that selected the upload, never
        on the parts page's own Date: no later clock can make a part look older.
        """
        total = 0
        try:
            for result in iter_part_pages(self.client, bucket, upload.key, upload.uploadId,
                                          deadline=self.budget.deadline):
                with self._lock:
                    self.report.requests["list_parts"] += 1
                if result.status == 404:
                    gone = result.errorCode in _GONE_CODES
                    return Activity("gone" if gone else "failed", result=result,
                                    error_code=result.errorCode)
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

    # -- confirming a page -----------------------------------------------------------

    def _confirm(self, start: Cursor, markers: Markers, done: list[Pending],
                 page_size: int) -> None:
        """One listing of the page's key range: what was aborted or reported gone must be
        gone. An abort still listed is repeated once; what stays listed has failed."""
        to_check = [p for p in done if p.confirm is not None]
        if not to_check:
            return
        listed = self._still_listed(start, markers, to_check, page_size)
        if listed is None:
            return  # unknown: the entries say verified=None only for aborts
        retry = []
        for pending in to_check:
            ident = (pending.upload.key, pending.upload.uploadId)
            if ident not in listed:
                pending.verified = True
            elif pending.confirm == "gone" or self.options.dry_run:
                # ListParts said 404 for an upload that is listed: its activity is unknown,
                # so it is not aborted.
                pending.outcome, pending.verified = "failed", False
                pending.error_code = f"ListedAfter{pending.error_code or '404'}"
                self._track(start.bucket, "failed")
            else:
                retry.append(pending)
        if not retry:
            return
        for pending in retry:
            try:
                again = self.abort(start.bucket, pending.upload)
                pending.result = again if again.ok else pending.result
            except ObsTransportError:
                pass
        listed = (self._still_listed(start, markers, retry, page_size)
                  if not self.out_of_time() else None)
        for pending in retry:
            ident = (pending.upload.key, pending.upload.uploadId)
            if listed is not None and ident not in listed:
                pending.verified = True
                pending.outcome = "aborted" if pending.result and pending.result.ok else (
                    pending.outcome)
            else:
                pending.outcome, pending.error_code = "failed", "StillListed"
                pending.verified = False if listed is not None else None
                self._track(start.bucket, "failed")

    def _still_listed(self, start: Cursor, markers: Markers, pendings: list[Pending],
                      page_size: int) -> set[tuple[str, str]] | None:
        """Which of ``pendings`` the server still lists (None: could not tell).

        The listing starts at the page's own markers and asks for no more than the page
        held: what is still there sorts first, so the next page is not fetched twice.
        """
        wanted = {(p.upload.key, p.upload.uploadId) for p in pendings}
        last_key = max(key for key, _ in wanted)
        found: set[tuple[str, str]] = set()
        try:
            for result in iter_upload_pages(
                    self.client, start.bucket, start.prefix or None, key_marker=markers[0],
                    upload_id_marker=markers[1], deadline=self.budget.deadline,
                    delimiter=start.delimiter, page_size=max(1, page_size)):
                with self._lock:
                    self.report.requests["verify_list"] += 1
                uploads = result.body.upload
                found.update(i for i in ((u.key, u.uploadId) for u in uploads) if i in wanted)
                if not uploads or uploads[-1].key > last_key or self.out_of_time():
                    break
        except ObsError:
            return None
        return found

    def verify_by_parts(self, bucket: str, upload: Upload, repeats: int = 2) -> bool | None:
        """Confirm one abort with ListParts (SWEEP_VERIFY_MODE=parts): True when gone,
        False when still there after ``repeats`` more aborts, None when unknown."""
        for attempt in range(repeats + 1):
            try:
                with self._lock:
                    self.report.requests["list_parts"] += 1
                check = self.client.listParts(bucket, upload.key, upload.uploadId, max_parts=1,
                                              deadline=self.budget.deadline)
                if check.status == 404:
                    return True
                if not check.ok or attempt == repeats or self.out_of_time():
                    return None if not check.ok else False
                self.abort(bucket, upload)
            except ObsTransportError:
                return None
        return False

    def _decide(self, bucket: str, pending: Pending, now: datetime | None) -> None:
        result = pending.result
        self.report.decide(
            bucket, pending.upload, pending.outcome, now,
            status=result.status if result else None,
            request_id=result.requestId if result else None,
            bytes_=pending.size if pending.outcome in ("aborted", "would_abort") else None,
            error_code=pending.error_code if pending.outcome != "aborted" else None,
            verified=pending.verified,
        )
