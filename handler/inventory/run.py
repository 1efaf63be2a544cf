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
from typing import TYPE_CHECKING, Any

from handler.events.timer import Continuation, Cursor
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
    from handler.obs.model import GetResult, Upload
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
                 ) -> BucketLifecycle | None:
    """The bucket's abort rules; None when they cannot be read (denied, unreachable)."""
    from handler.obs.lifecycle import configuration_of

    try:
        config = configuration_of(client.getBucketLifecycle(bucket, deadline=deadline))
    except ObsTransportError:
        return None
    if config is None:
        return None
    return BucketLifecycle(tuple(
        AbortRule(rule_id=rule.id or "", prefix=rule.prefix or "",
                  enabled=rule.removes_uploads, days_after_initiation=rule.abort_days)
        for rule in config.rule))


class InventoryRun:
    """Counts the uploads of one invocation into an Inventory (nothing is aborted)."""

    def __init__(self, invocation: Invocation, client: ObsClient, settings: SweepSettings,
                 inventory: Inventory) -> None:
        self.invocation = invocation
        self.client = client
        self.inventory = inventory
        self.policy = Policy(min_age=settings.age, exclude_prefixes=tuple(
            settings.exclude_prefixes), initiator=settings.initiator)
        self.errors: list[dict[str, Any]] = []
        self.lifecycles: dict[str, BucketLifecycle | None] = {}
        self.requests = 0

    def lifecycle(self, bucket: str) -> BucketLifecycle | None:
        if bucket not in self.lifecycles:
            rules = lifecycle_of(self.client, bucket, self.invocation.budget.deadline)
            self.lifecycles[bucket] = rules
            self.inventory.set_bucket(bucket, has_abort_rule=(
                None if rules is None else rules.has_abort_rule))
            if rules is None:
                self.error(bucket, "", "the bucket's lifecycle configuration could not be read")
        return self.lifecycles[bucket]

    def error(self, bucket: str, prefix: str, message: str) -> None:
        record = {"bucket": bucket, "prefix": prefix, "error": message}
        self.invocation.log.decision("inventory_error", **record)
        self.errors.append(record)

    def run(self, start: Cursor, pool: ThreadPoolExecutor) -> Cursor | None:
        """Count one listing from ``start``; where to resume, or None when done."""
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
                facts = self._page(start, result, page.upload, markers, pool, clock, guard, rules)
                if facts is None:  # time ran out inside the page: count it next time, whole
                    return start.after(*markers)
                self.inventory.add_all(facts)
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
              rules: BucketLifecycle | None) -> list[UploadFacts] | None:
        now, distrust = clock.now(result)
        if distrust is not None:
            # Counting destroys nothing: the page's own Date, else ours, still dates it.
            self.error(start.bucket, start.prefix, distrust)
            now = server_time(result) or datetime.now(timezone.utc)
        assert now is not None
        self.inventory.note_server_time(now)
        listed = [u for u in uploads if u.key and u.uploadId and u.initiated is not None
                  and guard.first_time(u, markers)]
        futures = [pool.submit(self.parts, start.bucket, u, now) for u in listed]
        facts = []
        for upload, future in zip(listed, futures, strict=True):
            parts = future.result()
            if parts is None:
                return None
            assert upload.initiated is not None
            verdict: str = self.policy.judge(upload, now, start.prefix, start.delimiter)
            if verdict == "selected":
                verdict = "skipped_active" if parts.active else "would_abort"
            facts.append(UploadFacts(
                bucket=start.bucket, key=upload.key, upload_id=upload.uploadId,
                initiated=upload.initiated, initiator=upload.initiator.id, parts=parts.count,
                bytes=parts.bytes, last_part=parts.last,
                age_s=(now - upload.initiated).total_seconds(), verdict=verdict,
                lifecycle=rules.coverage(upload.key, upload.initiated) if rules else None))
        return facts

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


def run_inventory(invocation: Invocation, settings: SweepSettings,
                  continuation: Continuation | None) -> Reply:
    """Count within the time budget; the reply carries a continuation if work remains."""
    from handler.sweep.timer import targets

    refused = sorted({b for b in settings.buckets if not invocation.settings.bucket_allowed(b)})
    if refused:
        raise Refusal(bucket_not_allowed(", ".join(refused)))
    client = invocation.client()
    if client is None:
        raise Refusal(missing_credentials())
    state = continuation.inventory if continuation is not None else None
    inventory = Inventory.from_dict(state) if state else Inventory(
        price_per_gb_month=invocation.settings.storage_price_per_gb_month)
    counter = InventoryRun(invocation, client, settings, inventory)
    resume: Cursor | None = None
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for cursor in targets(settings, continuation):
            resume = cursor if invocation.budget.expired() else counter.run(cursor, pool)
            if resume is not None:
                break
    report = inventory.to_dict()
    next_step = None
    if resume is not None:
        next_step = Continuation(**resume.model_dump(exclude={"delimiter"}), settings=settings,
                                 inventory=dict(report)).model_dump(exclude={"delimiter"})
    reply: Reply = {"mode": "inventory", "inventory": report, "errors": counter.errors,
                    "continuation": next_step}
    if next_step is None and invocation.settings.report_bucket:
        reply["published"] = publish(invocation, client, reply)
    invocation.log.decision("inventory_done", continuation=next_step is not None,
                            uploads=inventory.count, errors=len(counter.errors))
    return reply


def publish(invocation: Invocation, client: ObsClient, reply: Reply) -> dict[str, Any]:
    """Put the page and the JSON it was drawn from into REPORT_BUCKET (PutObject)."""
    from handler.inventory.page import render_html

    bucket = invocation.settings.report_bucket
    assert bucket is not None
    if not invocation.settings.bucket_allowed(bucket):
        return {"error": f"REPORT_BUCKET {bucket!r} is not in ALLOWED_BUCKETS; nothing was put"}
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = f"{invocation.settings.report_prefix}{stamp}"
    outputs = {
        f"{base}.html": (render_html(dict(reply["inventory"])), "text/html; charset=utf-8"),
        f"{base}.json": (json.dumps(reply["inventory"], ensure_ascii=False),
                         "application/json"),
    }
    done: dict[str, Any] = {}
    for key, (body, content_type) in outputs.items():
        try:
            result = client.putContent(bucket, key, body.encode("utf-8"),
                                       headers={"Content-Type": content_type},
                                       deadline=invocation.budget.deadline)
            done[key] = {"status": result.status, "errorCode": result.errorCode}
        except ObsTransportError as exc:
            done[key] = {"status": None, "errorCode": "TransportError", "error": str(exc)}
    return {"bucket": bucket, "objects": done}
