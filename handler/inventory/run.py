"""The inventory route: count every upload, its parts and bytes, and what would clean it.

A timer with ``"mode": "inventory"`` (or ``python -m tools.invoke inventory``) lists each
configured bucket and prefix, asks ListParts of every upload for its sizes and its last
part, reads each bucket's lifecycle rules, and judges each upload with the sweep's own
policy (a dry run: nothing is aborted, ever). The counts go into an ``Inventory``
(handler/inventory/aggregate.py), whose state travels in the continuation when the time
budget runs out, so a large bucket is counted over several invocations, page by page,
each upload once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from handler.events.errors import InvalidEvent
from handler.events.timer import Continuation, Cursor, continuation_of
from handler.inventory.aggregate import Inventory, UploadFacts
from handler.inventory.lifecycle_rules import AbortRule, BucketLifecycle
from handler.obs.errors import ObsError, ObsTransportError
from handler.obs.paging import iter_part_pages, iter_upload_pages
from handler.result import Refusal, bucket_not_allowed, missing_credentials
from handler.sweep.clock import ListingClock, server_time
from handler.sweep.engine import ListingGuard
from handler.sweep.policy import Policy

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from handler.events.timer import SweepSettings
    from handler.obs.client import ObsClient
    from handler.obs.listings import Upload
    from handler.obs.model import GetResult
    from handler.result import Reply
    from handler.runtime import Invocation

Markers = tuple[str | None, str | None]


@dataclass(frozen=True, slots=True)
class Parts:
    """What ListParts says of one upload; None fields when it could not be read."""

    count: int | None = None
    bytes: int | None = None
    last: datetime | None = None
    active: bool = False


def lifecycle_of(client: ObsClient, bucket: str, deadline: float | None,
                 ) -> tuple[BucketLifecycle | None, str | None]:
    """The bucket's abort rules, or None and why they cannot be read (denied, unreachable).

    A bucket without a configuration (404 NoSuchLifecycleConfiguration) has no rules: that
    is the normal case, not an error.
    """
    from handler.obs.lifecycle import configuration_of

    try:
        result = client.getBucketLifecycle(bucket, deadline=deadline)
    except ObsTransportError as exc:
        return None, str(exc)
    config = configuration_of(result)
    if config is None:
        code = result.errorCode or ("an unreadable body" if result.ok else "no error code")
        return None, f"status {result.status}, {code}"
    return BucketLifecycle(tuple(
        AbortRule(rule_id=rule.id or "", prefix=rule.prefix or "",
                  enabled=rule.removes_uploads, days_after_initiation=rule.abort_days)
        for rule in config.rule)), None


class InventoryRun:
    """Counts the uploads of one invocation into an Inventory (nothing is aborted)."""

    def __init__(self, invocation: Invocation, client: ObsClient, settings: SweepSettings,
                 inventory: Inventory) -> None:
        self.invocation = invocation
        self.client = client
        self.inventory = inventory
        self.policy = Policy(min_age=settings.age, exclude_prefixes=tuple(
            settings.exclude_prefixes), initiator=settings.initiator)
        # A sweep without the activity check never lists parts, so a young part keeps
        # nothing: the verdicts say what a sweep with these settings would do.
        self.check_activity = settings.check_activity
        self.errors: list[dict[str, Any]] = []
        self.lifecycles: dict[str, BucketLifecycle | None] = {}
        self.requests = 0

    def lifecycle(self, bucket: str) -> BucketLifecycle | None:
        if bucket not in self.lifecycles:
            rules, problem = lifecycle_of(self.client, bucket, self.invocation.budget.deadline)
            self.lifecycles[bucket] = rules
            self.inventory.set_bucket(bucket, has_abort_rule=(
                None if rules is None else rules.has_abort_rule))
            if problem is not None:
                self.error(bucket, "", "the bucket's lifecycle configuration could not be "
                           f"read ({problem}); its coverage is unknown")
        return self.lifecycles[bucket]

    def error(self, bucket: str, prefix: str, message: str) -> None:
        record = {"bucket": bucket, "prefix": prefix, "error": message}
        self.invocation.log.decision("inventory_error", **record)
        self.errors.append(record)

    def run(self, start: Cursor, pool: ThreadPoolExecutor,
            counted_elsewhere: tuple[str, ...] = ()) -> Cursor | None:
        """Count one listing from ``start``; where to resume, or None when done.

        ``counted_elsewhere``: prefixes of this bucket listed before this one (settings
        whose prefixes overlap), whose uploads are not counted twice.
        """
        rules = self.lifecycle(start.bucket)
        markers: Markers = (start.key_marker, start.upload_id_marker)
        clock = ListingClock(self.invocation.settings.max_clock_skew)
        guard = ListingGuard()
        budget = self.invocation.budget
        try:
            for result in iter_upload_pages(
                    self.client, start.bucket, start.prefix or None, key_marker=markers[0],
                    upload_id_marker=markers[1], deadline=budget.deadline,
                    delimiter=start.delimiter):
                self.requests += 1
                page = result.body
                facts, resume = self._page(start, result, page.upload, markers, pool, clock,
                                           guard, rules, counted_elsewhere)
                self.inventory.add_all(facts)
                if resume is not None:  # time ran out inside the page
                    return start.after(*resume)
                if not page.isTruncated:
                    return None
                following = (page.nextKeyMarker, page.nextUploadIdMarker)
                problem = guard.advance(markers, following)
                if problem is not None:
                    self.error(start.bucket, start.prefix, problem)
                    return None
                markers = following
                if budget.expired():
                    return start.after(*markers)
        except ObsTransportError as exc:
            self.error(start.bucket, start.prefix, str(exc))
            return start.after(*markers)
        except ObsError as exc:
            self.error(start.bucket, start.prefix, str(exc))
        return None

    def _page(self, start: Cursor, result: GetResult, uploads: list[Upload], markers: Markers,
              pool: ThreadPoolExecutor, clock: ListingClock, guard: ListingGuard,
              rules: BucketLifecycle | None, counted_elsewhere: tuple[str, ...],
              ) -> tuple[list[UploadFacts], Markers | None]:
        """The facts of the page's uploads, and where to resume when the budget ran out
        before all their parts were listed: after the last upload counted, as a sweep
        resumes after the last upload it handled, so that every invocation gets on.

        Only a page in key order can be resumed inside: a server that lists out of order
        (moto: creation order, markers ignored) would list uploads "after" the marker that
        were never counted, so such a page is counted whole or not at all.
        """
        now, distrust = clock.now(result)
        if distrust is not None:
            # Counting destroys nothing: the page's own Date, else ours, still dates it.
            self.error(start.bucket, start.prefix, distrust)
            now = server_time(result) or datetime.now(timezone.utc)
        assert now is not None
        self.inventory.note_server_time(now)
        listed: list[Upload] = []
        malformed = outside = 0
        for upload in uploads:
            if not upload.key or not upload.uploadId or upload.initiated is None:
                malformed += 1
            elif behind(upload, markers) or not guard.first_time(upload, markers) or any(
                    upload.key.startswith(p) for p in counted_elsewhere):
                continue  # counted already: on an earlier page, invocation or prefix
            elif self.policy.judge(upload, now, start.prefix, start.delimiter) == (
                    "skipped_outside"):
                outside += 1  # not what was asked for; another prefix may count it
            else:
                listed.append(upload)
        if malformed:
            self.error(start.bucket, start.prefix, f"{malformed} listed upload(s) lack a Key, "
                       "an UploadId or an Initiated time and were not counted")
        if outside:
            self.error(start.bucket, start.prefix, f"the server listed {outside} upload(s) "
                       "outside the requested prefix; they were not counted")
        futures = [pool.submit(self.parts, start.bucket, u, now) for u in listed]
        facts: list[UploadFacts] = []
        unreadable = 0
        resume: Markers | None = None
        for upload, future in zip(listed, futures, strict=True):
            parts = future.result()
            if resume is not None or parts is None:
                # The rest waits for the next invocation (even uploads whose parts came).
                if resume is None:
                    last = facts[-1] if facts else None
                    resume = markers if last is None else (last.key, last.upload_id)
                continue
            assert upload.initiated is not None
            verdict: str = self.policy.judge(upload, now, start.prefix, start.delimiter)
            if parts.count is None:
                unreadable += 1
            if verdict == "selected" and not self.check_activity:
                verdict = "would_abort"
            elif verdict == "selected":
                # As the sweep: a selected upload whose parts cannot be read is not
                # aborted but reported failed.
                verdict = ("failed" if parts.count is None else
                           "skipped_active" if parts.active else "would_abort")
            facts.append(UploadFacts(
                bucket=start.bucket, key=upload.key, upload_id=upload.uploadId,
                initiated=upload.initiated, initiator=upload.initiator.id, parts=parts.count,
                bytes=parts.bytes, last_part=parts.last,
                age_s=(now - upload.initiated).total_seconds(), verdict=verdict,
                lifecycle=rules.coverage(upload.key, upload.initiated) if rules else None))
        if resume is not None and any(a.key > b.key for a, b in pairwise(uploads)):
            return [], markers
        if unreadable:
            self.error(start.bucket, start.prefix, f"the parts of {unreadable} upload(s) "
                       "could not be listed; they are counted without sizes (unsized)")
        return facts, resume

    def parts(self, bucket: str, upload: Upload, now: datetime) -> Parts | None:
        """Sizes and the last part of one upload; None when the budget ran out."""
        if self.invocation.budget.expired():
            return None
        count = size = 0
        last: datetime | None = None
        active = False
        try:
            for result in iter_part_pages(self.client, bucket, upload.key, upload.uploadId,
                                          deadline=self.invocation.budget.deadline):
                if not result.ok:
                    return Parts()
                found = result.body.parts
                count += len(found)
                size += sum(p.size or 0 for p in found)
                stamps = [p.lastModified for p in found if p.lastModified is not None]
                last = max([*stamps, *([last] if last else [])], default=None)
                active = active or self.policy.is_active(found, now)
        except ObsError:
            return Parts()
        return Parts(count, size, last, active)


def behind(upload: Upload, markers: Markers) -> bool:
    """True for an upload the request's markers say was listed before: a key before the
    key marker, the marker's upload itself, or any upload of the marker's key when no
    upload-id marker goes with it (S3 and OBS list only later keys then). A server that
    does not honour the markers exactly must not get an upload counted twice across
    invocations. (Other uploads of the marker's key are the server's to order.)"""
    key_marker, upload_id_marker = markers
    if key_marker is None:
        return False
    return upload.key < key_marker or (upload.key == key_marker and upload_id_marker in (
        None, upload.uploadId))


def run_inventory(invocation: Invocation, settings: SweepSettings,
                  continuation: Continuation | None) -> Reply:
    """Count within the time budget; the reply carries a continuation if work remains."""
    refused = sorted({b for b in settings.buckets if not invocation.settings.bucket_allowed(b)})
    if refused:
        raise Refusal(bucket_not_allowed(", ".join(refused)))
    client = invocation.client()
    if client is None:
        raise Refusal(missing_credentials())
    state = continuation.inventory if continuation is not None else None
    try:
        inventory = Inventory.from_dict(state) if state is not None else Inventory(
            price_per_gb_month=invocation.settings.storage_price_per_gb_month)
    except ValueError as exc:
        raise InvalidEvent(f"continuation: inventory: {exc}") from None
    counter = InventoryRun(invocation, client, settings, inventory)
    resume: Cursor | None = None
    # The targets in settings order; a prefix inside one listed before it is not listed
    # again, and uploads under an earlier prefix are not counted twice.
    pairs = [(b, p) for b in settings.buckets for p in settings.prefixes]
    first = 0 if continuation is None else pairs.index(
        (continuation.bucket, continuation.prefix))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for index in range(first, len(pairs)):
            bucket, prefix = pairs[index]
            earlier = tuple(p for b, p in pairs[:index] if b == bucket)
            if any(prefix.startswith(p) for p in earlier):
                continue
            cursor = Cursor(bucket=bucket, prefix=prefix)
            if index == first and continuation is not None:
                cursor = cursor.after(continuation.key_marker, continuation.upload_id_marker)
            if invocation.budget.expired():
                resume = cursor
                break
            resume = counter.run(cursor, pool, earlier)
            if resume is not None:
                break
    report = inventory.to_dict()
    next_step = None
    if resume is not None:
        next_step = continuation_of(resume, settings, inventory=dict(report))
    reply: Reply = {"mode": "inventory", "inventory": report, "errors": counter.errors,
                    "continuation": next_step}
    if next_step is None and invocation.settings.report_bucket:
        reply["published"] = publish(invocation, client, reply, counter)
    invocation.log.decision("inventory_done", continuation=next_step is not None,
                            uploads=inventory.count, errors=len(counter.errors))
    return reply


def publish(invocation: Invocation, client: ObsClient, reply: Reply,
            counter: InventoryRun) -> dict[str, Any]:
    """Put the page and the JSON it was drawn from into REPORT_BUCKET (PutObject).

    A REPORT_BUCKET that is no bucket name, or not allowed, gets nothing; each object not
    put is an error of the run, so that whoever reads the reply learns the page is missing.
    """
    from handler.events.abandonment import check_bucket_name
    from handler.inventory.page import render_html

    bucket = invocation.settings.report_bucket
    assert bucket is not None
    try:
        check_bucket_name(bucket)
    except ValueError as exc:
        # Never sent: a name such as "host/x" would address another host entirely.
        message = f"REPORT_BUCKET {exc}; nothing was put"
        counter.error("", "", message)
        return {"error": message}
    if not invocation.settings.bucket_allowed(bucket):
        message = f"REPORT_BUCKET {bucket!r} is not in ALLOWED_BUCKETS; nothing was put"
        counter.error(bucket, "", message)
        return {"error": message}
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = f"{invocation.settings.report_prefix}{stamp}"
    # The reply is scrubbed of the invocation's secrets on its way out; these bodies leave
    # by another door, so they are scrubbed here (keys are server data).
    scrub = invocation.log.scrub
    outputs = {
        f"{base}.html": (scrub(render_html(dict(reply["inventory"]))), "text/html; charset=utf-8"),
        f"{base}.json": (scrub(json.dumps(reply["inventory"], ensure_ascii=False)),
                         "application/json"),
    }
    done: dict[str, Any] = {}
    for key, (body, content_type) in outputs.items():
        try:
            result = client.putContent(bucket, key, body.encode("utf-8"),
                                       headers={"contentType": content_type},
                                       deadline=invocation.budget.deadline)
            done[key] = {"status": result.status, "errorCode": result.errorCode}
            failed = None if result.ok else f"status {result.status}, {result.errorCode}"
        except ObsTransportError as exc:
            done[key] = {"status": None, "errorCode": "TransportError", "error": str(exc)}
            failed = str(exc)
        if failed is not None:
            counter.error(bucket, key, f"the report could not be put: {failed}")
    return {"bucket": bucket, "objects": done}
