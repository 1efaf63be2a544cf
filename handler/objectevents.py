"""OBS object events: when key K is written, abort K's orphaned uploads.

A retry that re-uploaded K leaves the abandoned attempts behind as uploads on the very
same key. Only uploads on exactly K, initiated at least the grace period before the
event (on the earliest clock we have), with no part younger than the grace, are aborted.
ObjectRemoved events never abort anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from handler.events import InvalidEvent, check_bucket_name
from handler.obs.xmlparse import parse_timestamp
from handler.report import SweepReport
from handler.result import bucket_not_allowed, missing_credentials
from handler.selection import Policy
from handler.settings import lookup
from handler.sweep import Position, Sweeper
from handler.sweep_config import parse_duration

if TYPE_CHECKING:
    from handler.invocation import Invocation

DEFAULT_GRACE = "1h"
MIN_GRACE = timedelta(minutes=5)
@dataclass(frozen=True, slots=True)
class ObjectRecord:
    bucket: str
    key: str
    event_name: str
    event_time: datetime | None


def _record(raw: dict[str, Any], cloud_time: datetime | None) -> ObjectRecord:
    body = raw.get("s3") if "s3" in raw else raw.get("obs")
    try:
        bucket = body["bucket"]["name"]  # type: ignore[index]
        key = unquote_plus(body["object"]["key"])  # type: ignore[index]
    except (KeyError, TypeError) as exc:
        raise InvalidEvent(f"object event record lacks bucket.name or object.key ({exc})") from None
    if not isinstance(bucket, str) or not isinstance(key, str) or not 1 <= len(key) <= 1024:
        raise InvalidEvent("object event record has an unusable bucket name or object key")
    try:
        check_bucket_name(bucket)
    except ValueError as exc:
        raise InvalidEvent(f"bucket: {exc}") from None
    times = [t for t in (parse_timestamp(raw.get("eventTime")), cloud_time) if t is not None]
    # The earliest clock wins: a sample shows eventTime eight hours after the CloudEvent's
    # time, and trusting the later one would let young uploads pass as orphans.
    return ObjectRecord(bucket, key, str(raw.get("eventName", "")), min(times, default=None))


def parse_object_event(event: dict[str, Any]) -> list[ObjectRecord]:
    if "Records" in event:
        return [_record(r, None) for r in event["Records"]]
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("the CloudEvent has no data object")
    return [_record(data, parse_timestamp(event.get("time")))]


def _grace(invocation: Invocation) -> timedelta:
    raw = lookup(invocation.context, "OBJECT_EVENT_GRACE") or DEFAULT_GRACE
    grace = parse_duration(raw)
    forced = (lookup(invocation.context, "OBJECT_EVENT_FORCE") or "").lower() == "true"
    # As with a timer's min_age, a very short grace needs saying twice (demos, tests).
    if grace < MIN_GRACE and not forced:
        raise ValueError(f"OBJECT_EVENT_GRACE below {MIN_GRACE} needs OBJECT_EVENT_FORCE=true")
    return grace


def handle_object_event(invocation: Invocation, event: dict[str, Any]) -> dict[str, Any]:
    records = parse_object_event(event)
    grace = _grace(invocation)
    replies = [_one(invocation, record, grace) for record in records]
    if len(replies) == 1 and replies[0].get("outcome") == "rejected":
        return replies[0]["result"]  # type: ignore[no-any-return]
    return {"records": replies}


def _one(invocation: Invocation, record: ObjectRecord, grace: timedelta) -> dict[str, Any]:
    head = {"bucket": record.bucket, "key": record.key, "event": record.event_name}
    if not invocation.settings.bucket_allowed(record.bucket):
        refusal = bucket_not_allowed(record.bucket).to_dict()
        return {**head, "outcome": "rejected", "result": refusal}
    if not record.event_name.startswith(("ObjectCreated:", "s3:ObjectCreated:")):
        invocation.log.decision("object_event", **head, outcome="ignored")
        return {**head, "outcome": "ignored",
                "reason": "only ObjectCreated events clean up uploads; nothing was aborted"}
    client = invocation.client()
    if client is None:
        return {**head, "outcome": "failed", "result": missing_credentials().to_dict()}
    report = SweepReport(dry_run=False, log=invocation.log)
    policy = Policy(min_age=grace, exact_key=record.key, reference_time=record.event_time)
    sweeper = Sweeper(invocation, client, policy, report, dry_run=False, check_activity=True,
                      max_aborts=None)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        resume = sweeper.run(Position(record.bucket, record.key), pool)
    outcome = "incomplete" if resume is not None else "cleaned"
    return {**head, "outcome": outcome, "grace_s": grace.total_seconds(),
            "reference_time": record.event_time.isoformat() if record.event_time else None,
            **report.to_dict(None)}
