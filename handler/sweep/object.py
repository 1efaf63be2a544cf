"""OBS object events: when key K is written, abort K's orphaned uploads.

A retry that re-uploaded K leaves the abandoned attempts behind as uploads on the very
same key. Only uploads on exactly K, initiated at least the grace period before the
event (on the earliest clock we have), with no part younger than the grace, are aborted.
ObjectRemoved events never abort anything.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from handler.events.object import parse_object_event
from handler.events.timer import Cursor
from handler.result import Refusal, bucket_not_allowed, config_error
from handler.sweep.engine import EngineOptions, open_sweep
from handler.sweep.policy import Policy

if TYPE_CHECKING:
    from handler.events.classify import ObjectEvent
    from handler.events.object import ObjectRecord
    from handler.result import Reply
    from handler.runtime import Invocation

MIN_GRACE = timedelta(minutes=5)
# Object events come one key at a time; a few workers cover the uploads on one key.
OBJECT_EVENT_CONCURRENCY = 4


def grace_of(invocation: Invocation) -> timedelta:
    grace = invocation.settings.object_event_grace
    # As with a timer's min_age, a very short grace needs saying twice (demos, tests).
    if grace < MIN_GRACE and not invocation.settings.object_event_force:
        raise Refusal(config_error(
            f"OBJECT_EVENT_GRACE: below {MIN_GRACE} needs OBJECT_EVENT_FORCE=true"))
    floor = invocation.settings.min_age_floor
    if floor is not None and grace < floor:
        raise Refusal(config_error("OBJECT_EVENT_GRACE: below SWEEP_MIN_AGE_FLOOR"))
    return grace


def handle_object_event(invocation: Invocation, event: ObjectEvent) -> Reply:
    records = parse_object_event(event.event, invocation.settings.object_key_encoding)
    grace = grace_of(invocation)
    replies = []
    for record in records:
        try:
            replies.append(clean_key(invocation, record, grace))
        except Refusal as refusal:
            if len(records) == 1:
                raise
            replies.append({**_head(record), "outcome": "rejected",
                            "result": refusal.result.to_dict()})
    return {"records": replies}


def _head(record: ObjectRecord) -> dict[str, Any]:
    return {"bucket": record.bucket, "key": record.key, "event": record.event_name}


def clean_key(invocation: Invocation, record: ObjectRecord, grace: timedelta) -> dict[str, Any]:
    """Abort the orphaned uploads of one written key."""
    head = _head(record)
    if not invocation.settings.bucket_allowed(record.bucket):
        raise Refusal(bucket_not_allowed(record.bucket))
    if not record.created:
        invocation.log.decision("object_event", **head, outcome="ignored")
        return {**head, "outcome": "ignored",
                "reason": "only ObjectCreated events clean up uploads; nothing was aborted"}
    policy = Policy(min_age=grace, exact_key=record.key, reference_time=record.event_time)
    options = EngineOptions(concurrency=OBJECT_EVENT_CONCURRENCY,
                            max_clock_skew=invocation.settings.max_clock_skew)
    sweeper = open_sweep(invocation, [record.bucket], options, policy)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        resume = sweeper.run(Cursor(bucket=record.bucket, prefix=record.key), pool)
    outcome = "incomplete" if resume is not None else "cleaned"
    return {**head, "outcome": outcome, "grace_s": grace.total_seconds(),
            "reference_time": record.event_time.isoformat() if record.event_time else None,
            **sweeper.report.to_dict(None)}
