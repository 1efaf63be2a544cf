"""Synthetic uploads for the inventory tests, the example page and the benchmark.

Deterministic (a seeded generator) so every run draws the same report.
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from handler.inventory.aggregate import Inventory, UploadFacts
from handler.inventory.lifecycle_rules import AbortRule, BucketLifecycle

if TYPE_CHECKING:
    from collections.abc import Iterator

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
MIB = 2**20

LIFECYCLES = {
    "media-ingest": BucketLifecycle((AbortRule("abort-tmp-7d", "tmp/", True, 7),
                                     AbortRule("abort-video-30d", "video/", True, 30),
                                     AbortRule("expire-logs", "logs/", True, None))),
    "backups-prod": BucketLifecycle(()),
    "analytics-raw": BucketLifecycle((AbortRule("abort-all-3d", "", False, 3),)),
}
PREFIXES = {
    "media-ingest": ["video/", "tmp/", "images/", "logs/", ""],
    "backups-prod": ["db/", "vm-images/", "home/"],
    "analytics-raw": ["events/", "clickstream/", "exports/"],
}
INITIATORS = ["svc-transcoder", "svc-backup", "etl-nightly", "alice", "bob", "ci-runner"]


def sample_uploads(count: int = 2400, *, seed: int = 15, min_age_s: float = 86400.0,
                   now: datetime = NOW) -> Iterator[UploadFacts]:
    rng = random.Random(seed)
    buckets = list(PREFIXES)
    for index in range(count):
        bucket = buckets[min(int(rng.random() ** 1.6 * 3), 2)]
        prefix = rng.choice(PREFIXES[bucket])
        key = f"{prefix}{index:07d}/part-{rng.randrange(10**6):06d}.bin"
        age = rng.expovariate(1 / (6 * 86400)) if rng.random() < 0.85 else rng.uniform(0, 3600)
        initiated = now - timedelta(seconds=age)
        parts = rng.randrange(1, 40)
        sized = rng.random() > 0.01
        recent_part = rng.random() < 0.08
        if age < min_age_s:
            verdict = "too_young"
        elif recent_part:
            verdict = "active"
        elif prefix == "tmp/" and rng.random() < 0.3:
            verdict = "excluded_prefix"
        else:
            verdict = "would_abort"
        yield UploadFacts(
            bucket=bucket, key=key, upload_id=f"{index:032X}", initiated=initiated,
            initiator=rng.choice(INITIATORS) if rng.random() > 0.03 else None,
            parts=parts if sized else None,
            bytes=parts * rng.choice((5, 8, 16, 64)) * MIB if sized else None,
            last_part=initiated + timedelta(seconds=age * rng.random()),
            age_s=age, verdict=verdict,
            lifecycle=LIFECYCLES[bucket].coverage(key, initiated))


def sample_inventory(count: int = 2400, *, price: float | None = 0.0230,
                     currency: str | None = "USD", source: str = "inventory") -> Inventory:
    inventory = Inventory(price_per_gb_month=price, currency=currency,
                          source=source)  # type: ignore[arg-type]
    for bucket, lifecycle in LIFECYCLES.items():
        inventory.set_bucket(bucket, has_abort_rule=lifecycle.has_abort_rule)
    inventory.add_all(sample_uploads(count))
    inventory.note_server_time(NOW)
    return inventory


def many_uploads(count: int, *, now: datetime = NOW) -> Iterator[UploadFacts]:
    """``count`` distinct uploads, cheap to make (times and coverages come from small
    pools) so that a million of them measure the inventory rather than the generator.
    Two buckets, 20 top-level prefixes, 80 initiators (past the default cap of 50)."""
    rules = BucketLifecycle((AbortRule("abort-p0-3d", "p0/", True, 3),
                             AbortRule("abort-p1-9d", "p1/", True, 9)))
    pool = 997
    ages = [float((j * 7919) % (60 * 86400)) for j in range(pool)]
    times = [now - timedelta(seconds=age) for age in ages]
    prefixes = [f"p{j}/" for j in range(20)]
    covers = [[rules.coverage(prefix, moment) for moment in times] for prefix in prefixes]
    initiators = [f"user-{j:02d}" for j in range(80)]
    verdicts = ["would_abort" if age >= 86400 else "too_young" for age in ages]
    buckets = ("bucket-a", "bucket-b")
    for index in range(count):
        slot, p = index % pool, index % 20
        yield UploadFacts(
            buckets[index & 1], f"{prefixes[p]}{index}", str(index), times[slot],
            initiators[index % 80], 4, (index % 4096) * 1024, None, ages[slot],
            "active" if index % 50 == 0 else verdicts[slot], covers[p][slot])


def traced_peak(count: int) -> int:
    """tracemalloc's peak while ``count`` synthetic uploads are counted and reported (the
    memory test and bench/inventory.py measure the same thing)."""
    gc.collect()
    tracemalloc.start()
    try:
        inventory = Inventory(price_per_gb_month=0.02)
        inventory.add_all(many_uploads(count))
        inventory.to_dict()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
