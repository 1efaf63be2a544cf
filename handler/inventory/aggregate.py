"""An inventory of incomplete multipart uploads, accumulated one upload at a time.

Memory stays flat however many uploads are fed: everything is a counter except the
``oldest_n`` oldest uploads (a bounded heap) and capped tallies (initiators, verdicts,
top-level prefixes), whose overflow is folded into an "other" entry. The state
serialises to JSON (``to_dict``) and restores (``from_dict``), and two inventories merge
(``merge``), so a run can go on across invocations like a sweep's continuation.

Bytes are priced per GB-month with 1 GB = 2**30 bytes (docs/inventory.md says why);
the price is always the caller's, never a constant here.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from handler.inventory.schema import (
    AgeDict,
    BucketDict,
    ConfigDict,
    CostDict,
    CountBytes,
    InitiatorsDict,
    OldestDict,
    ReportDict,
    Source,
    StatsDict,
    SweepDict,
    TopPrefixDict,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pydantic import TypeAdapter

    from handler.inventory.lifecycle_rules import Coverage

GIB = 2**30

# Upper bounds of the age bins, in seconds on the server's clock; the last bin is open.
AGE_BINS = ("lt1h", "1-24h", "1-7d", "7-30d", "gt30d")
_HOUR, _DAY = 3600.0, 86400.0
_AGE_LIMITS = (_HOUR, _DAY, 7 * _DAY, 30 * _DAY)

# Verdicts meaning "a sweep with these settings takes this upload" (dry run or not, and
# whatever the abort then returned); every other verdict is a reason to keep it.
SELECTED_VERDICTS = frozenset({"would_abort", "aborted", "already_gone", "failed"})

# Caps on what restored state may ask for, so a tampered continuation cannot make the
# accumulator large.
_MAX_CAP = {"oldest_n": 1000, "max_initiators": 10_000, "max_prefixes": 100_000,
            "max_verdicts": 1000}


def top_prefix(key: str) -> str:
    """The key up to and including its first ``/``; "" for a key without one."""
    slash = key.find("/")
    return key[: slash + 1] if slash >= 0 else ""


def age_bin(age_s: float) -> int:
    """Index into AGE_BINS. A negative age (initiated "after" the server's now, i.e.
    clock skew between OBS nodes) counts as the youngest bin."""
    for index, limit in enumerate(_AGE_LIMITS):
        if age_s < limit:
            return index
    return len(_AGE_LIMITS)


def monthly_cost(nbytes: int, price_per_gb_month: float | None) -> float | None:
    """Storage cost of ``nbytes`` for a month; None when no price is configured."""
    if price_per_gb_month is None:
        return None
    return nbytes / GIB * price_per_gb_month


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a timezone: {text[:40]!r}")
    return moment


@dataclass(frozen=True, slots=True)
class UploadFacts:
    """What is known of one incomplete upload when it is counted.

    ``parts``/``bytes`` are None when its parts could not be listed (the upload is then
    counted as "unsized"), ``age_s`` is measured on the server's clock, ``verdict`` is
    the sweep policy's decision ("would_abort", or a keep reason such as "too_young"),
    ``lifecycle`` the rule that would remove it, if any.
    """

    bucket: str
    key: str
    upload_id: str
    initiated: datetime
    initiator: str | None
    parts: int | None
    bytes: int | None
    last_part: datetime | None
    age_s: float
    verdict: str
    lifecycle: Coverage | None

    def __post_init__(self) -> None:
        if self.initiated.tzinfo is None:
            raise ValueError("initiated must be timezone-aware")
        if (self.bytes is not None and self.bytes < 0) or (
                self.parts is not None and self.parts < 0):
            raise ValueError("bytes and parts cannot be negative")


class _Oldest:
    """One entry of the oldest-uploads heap. Ordered so that the heap's root is the
    entry to drop first: the youngest (on equal times, the greater key and upload id,
    so that the kept set does not depend on the order uploads arrive in)."""

    __slots__ = ("data", "rank")

    def __init__(self, rank: tuple[datetime, str, str], data: OldestDict) -> None:
        self.rank = rank  # (initiated, key, upload_id): smaller is older, kept first
        self.data = data

    def __lt__(self, other: _Oldest) -> bool:
        return self.rank > other.rank


class _Tally:
    """A capped mapping name → [count, bytes]; names past the cap go to ``other``."""

    __slots__ = ("cap", "items", "other")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: dict[str, list[int]] = {}
        self.other = [0, 0]

    def add(self, name: str, count: int, nbytes: int) -> None:
        slot = self.items.get(name)
        if slot is None:
            if len(self.items) >= self.cap:
                slot = self.other
            else:
                slot = self.items[name] = [0, 0]
        slot[0] += count
        slot[1] += nbytes

    def merge(self, other: _Tally) -> None:
        for name, (count, nbytes) in other.items.items():
            self.add(name, count, nbytes)
        self.other[0] += other.other[0]
        self.other[1] += other.other[1]


class _Stats:
    """The counters of one slice: a top-level prefix (fed), a bucket or the total
    (merged from prefixes when reported)."""

    __slots__ = (
        "age",
        "bytes",
        "count",
        "covered",
        "eligible_min",
        "expected_max",
        "initiators",
        "initiators_missing",
        "janitor_oldest",
        "janitor_only",
        "janitor_selected",
        "oldest",
        "oldest_n",
        "overdue",
        "parts",
        "unsized",
        "verdicts",
    )

    def __init__(self, oldest_n: int, max_initiators: int, max_verdicts: int) -> None:
        self.count = 0
        self.bytes = 0
        self.parts = 0
        self.unsized = 0
        self.age = [0] * (2 * len(AGE_BINS))  # count, bytes per bin
        self.oldest_n = oldest_n
        self.oldest: list[_Oldest] = []
        self.initiators = _Tally(max_initiators)  # bytes column unused
        self.initiators_missing = 0
        self.verdicts = _Tally(max_verdicts)
        self.covered = [0, 0]
        self.overdue = [0, 0]
        self.eligible_min: datetime | None = None
        self.expected_max: datetime | None = None
        self.janitor_only = [0, 0]
        self.janitor_selected = [0, 0]
        self.janitor_oldest: datetime | None = None

    def _blank(self) -> _Stats:
        return _Stats(self.oldest_n, self.initiators.cap, self.verdicts.cap)

    # -- feeding -----------------------------------------------------------------------

    def add(self, upload: UploadFacts) -> None:
        nbytes = upload.bytes
        if nbytes is None:
            self.unsized += 1
            nbytes = 0
        if upload.parts is not None:
            self.parts += upload.parts
        self.count += 1
        self.bytes += nbytes
        slot = 2 * age_bin(upload.age_s)
        self.age[slot] += 1
        self.age[slot + 1] += nbytes
        if upload.initiator is None:
            self.initiators_missing += 1
        else:
            self.initiators.add(upload.initiator, 1, 0)
        self.verdicts.add(upload.verdict, 1, nbytes)
        initiated = upload.initiated
        cover = upload.lifecycle
        if cover is None:
            self.janitor_only[0] += 1
            self.janitor_only[1] += nbytes
            if upload.verdict in SELECTED_VERDICTS:
                self.janitor_selected[0] += 1
                self.janitor_selected[1] += nbytes
            if self.janitor_oldest is None or initiated < self.janitor_oldest:
                self.janitor_oldest = initiated
        else:
            self.covered[0] += 1
            self.covered[1] += nbytes
            if self.eligible_min is None or cover.eligible_from < self.eligible_min:
                self.eligible_min = cover.eligible_from
            if self.expected_max is None or cover.expected_by > self.expected_max:
                self.expected_max = cover.expected_by
            # Overdue: past expected_by on the server's clock (initiated + age).
            if (cover.expected_by - initiated).total_seconds() < upload.age_s:
                self.overdue[0] += 1
                self.overdue[1] += nbytes
        # Only uploads that may make the list pay for building their entry; comparing
        # times first keeps the common case free of allocations.
        heap = self.oldest
        if len(heap) < self.oldest_n or initiated <= heap[0].rank[0]:
            rank = (initiated, upload.key, upload.upload_id)
            if len(heap) < self.oldest_n or rank < heap[0].rank:
                self._offer(_Oldest(rank, _oldest_entry(upload)))

    def _offer(self, entry: _Oldest) -> None:
        heap = self.oldest
        if len(heap) < self.oldest_n:
            heapq.heappush(heap, entry)
        elif self.oldest_n and heap[0] < entry:
            heapq.heapreplace(heap, entry)

    def merge(self, other: _Stats) -> None:
        self.count += other.count
        self.bytes += other.bytes
        self.parts += other.parts
        self.unsized += other.unsized
        self.age = [a + b for a, b in zip(self.age, other.age, strict=True)]
        for entry in other.oldest:
            self._offer(entry)
        self.initiators.merge(other.initiators)
        self.initiators_missing += other.initiators_missing
        self.verdicts.merge(other.verdicts)
        for mine, theirs in ((self.covered, other.covered), (self.overdue, other.overdue),
                             (self.janitor_only, other.janitor_only),
                             (self.janitor_selected, other.janitor_selected)):
            mine[0] += theirs[0]
            mine[1] += theirs[1]
        self.eligible_min = _earliest(self.eligible_min, other.eligible_min)
        self.expected_max = _latest(self.expected_max, other.expected_max)
        self.janitor_oldest = _earliest(self.janitor_oldest, other.janitor_oldest)

    # -- JSON --------------------------------------------------------------------------

    def to_dict(self, price: float | None) -> StatsDict:
        age = cast("AgeDict", {
            name: _cb(self.age[2 * i], self.age[2 * i + 1]) for i, name in enumerate(AGE_BINS)})
        selected, kept = [0, 0], [0, 0]
        for name, (count, nbytes) in self.verdicts.items.items():
            target = selected if name in SELECTED_VERDICTS else kept
            target[0] += count
            target[1] += nbytes
        kept[0] += self.verdicts.other[0]
        kept[1] += self.verdicts.other[1]
        sweep: SweepDict = {
            "by_verdict": {name: _cb(*slot) for name, slot in self.verdicts.items.items()},
            "other": _cb(*self.verdicts.other),
            "selected": _cb(*selected),
            "kept": _cb(*kept),
        }
        initiators: InitiatorsDict = {
            "counts": {name: slot[0] for name, slot in self.initiators.items.items()},
            "other": self.initiators.other[0],
            "missing": self.initiators_missing,
        }
        cost: CostDict | None = None
        if price is not None:
            cost = {"monthly": self.bytes / GIB * price,
                    "selected_monthly": selected[1] / GIB * price,
                    "janitor_only_monthly": self.janitor_only[1] / GIB * price}
        return {
            "count": self.count,
            "bytes": self.bytes,
            "parts": self.parts,
            "unsized": self.unsized,
            "age": age,
            "oldest": [entry.data for entry in sorted(self.oldest, key=_rank)],
            "initiators": initiators,
            "sweep": sweep,
            "lifecycle": {
                "covered": {
                    "count": self.covered[0], "bytes": self.covered[1],
                    "eligible_from_min": _iso_or_none(self.eligible_min),
                    "expected_by_max": _iso_or_none(self.expected_max),
                    "overdue": _cb(*self.overdue),
                },
                "janitor_only": {
                    "count": self.janitor_only[0], "bytes": self.janitor_only[1],
                    "oldest_initiated": _iso_or_none(self.janitor_oldest),
                    "selected": _cb(*self.janitor_selected),
                },
            },
            "cost": cost,
        }

    @classmethod
    def from_dict(cls, data: StatsDict, config: ConfigDict) -> _Stats:
        stats = cls(config["oldest_n"], config["max_initiators"], config["max_verdicts"])
        stats.count, stats.bytes = data["count"], data["bytes"]
        stats.parts, stats.unsized = data["parts"], data["unsized"]
        for i, name in enumerate(AGE_BINS):
            stats.age[2 * i] = data["age"][name]["count"]  # type: ignore[literal-required]
            stats.age[2 * i + 1] = data["age"][name]["bytes"]  # type: ignore[literal-required]
        if len(data["oldest"]) > stats.oldest_n:
            raise ValueError("more oldest uploads than oldest_n")
        for item in data["oldest"]:
            rank = (parse_iso(item["initiated"]), item["key"], item["upload_id"])
            stats._offer(_Oldest(rank, dict(item)))  # type: ignore[arg-type]
        counts = data["initiators"]["counts"]
        _check_cap(len(counts), stats.initiators.cap, "initiators")
        for name, count in counts.items():
            stats.initiators.add(name, count, 0)
        stats.initiators.other[0] = data["initiators"]["other"]
        stats.initiators_missing = data["initiators"]["missing"]
        verdicts = data["sweep"]["by_verdict"]
        _check_cap(len(verdicts), stats.verdicts.cap, "verdicts")
        for name, slot in verdicts.items():
            stats.verdicts.add(name, slot["count"], slot["bytes"])
        stats.verdicts.other = [data["sweep"]["other"]["count"], data["sweep"]["other"]["bytes"]]
        covered = data["lifecycle"]["covered"]
        stats.covered = [covered["count"], covered["bytes"]]
        stats.overdue = [covered["overdue"]["count"], covered["overdue"]["bytes"]]
        stats.eligible_min = _parse_or_none(covered["eligible_from_min"])
        stats.expected_max = _parse_or_none(covered["expected_by_max"])
        janitor = data["lifecycle"]["janitor_only"]
        stats.janitor_only = [janitor["count"], janitor["bytes"]]
        stats.janitor_selected = [janitor["selected"]["count"], janitor["selected"]["bytes"]]
        stats.janitor_oldest = _parse_or_none(janitor["oldest_initiated"])
        return stats


class _Bucket:
    __slots__ = ("has_abort_rule", "other", "prefixes")

    def __init__(self) -> None:
        self.has_abort_rule: bool | None = None
        self.prefixes: dict[str, _Stats] = {}
        self.other: _Stats | None = None


class Inventory:
    """Per bucket and per top-level prefix: counts, bytes, parts, ages, the oldest
    uploads, initiators, the sweep's verdicts and lifecycle coverage.

    Feed it with ``add``; tell it what each bucket's lifecycle says with ``set_bucket``
    (a bucket with no uploads still shows, and one without an abort rule is flagged).
    """

    def __init__(
        self, *, source: Source = "inventory", oldest_n: int = 10, max_initiators: int = 50,
        max_prefixes: int = 500, max_verdicts: int = 32,
        price_per_gb_month: float | None = None, currency: str | None = None,
    ) -> None:
        config: ConfigDict = {
            "oldest_n": oldest_n, "max_initiators": max_initiators,
            "max_prefixes": max_prefixes, "max_verdicts": max_verdicts,
            "price_per_gb_month": price_per_gb_month, "currency": currency,
        }
        _check_config(config)
        if source not in ("inventory", "sweep"):
            raise ValueError(f"source must be 'inventory' or 'sweep', got {source!r}")
        self.source: Source = source
        self.config = config
        self._buckets: dict[str, _Bucket] = {}
        self._server_time_max: datetime | None = None

    @property
    def count(self) -> int:
        return sum(stats.count for bucket in self._buckets.values()
                   for stats in _slices(bucket))

    @property
    def server_time_max(self) -> datetime | None:
        """The latest server clock reading noted (the "as of" of the report)."""
        return self._server_time_max

    def note_server_time(self, moment: datetime) -> None:
        """Note the server's clock (a listing page's Date header): the report is as of
        the latest one. Once per page, not per upload, keeps ``add`` cheap."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        self._server_time_max = _latest(self._server_time_max, moment)

    def _bucket(self, name: str) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket()
        return bucket

    def _new_stats(self) -> _Stats:
        config = self.config
        return _Stats(config["oldest_n"], config["max_initiators"], config["max_verdicts"])

    def _slice(self, bucket: _Bucket, prefix: str) -> _Stats:
        stats = bucket.prefixes.get(prefix)
        if stats is not None:
            return stats
        if len(bucket.prefixes) < self.config["max_prefixes"]:
            stats = bucket.prefixes[prefix] = self._new_stats()
            return stats
        if bucket.other is None:
            bucket.other = self._new_stats()
        return bucket.other

    def set_bucket(self, bucket: str, *, has_abort_rule: bool | None) -> None:
        """Record whether the bucket has an enabled AbortIncompleteMultipartUpload rule
        (None: its lifecycle configuration could not be read)."""
        self._bucket(bucket).has_abort_rule = has_abort_rule

    def add(self, upload: UploadFacts) -> None:
        bucket = self._buckets.get(upload.bucket) or self._bucket(upload.bucket)
        self._slice(bucket, top_prefix(upload.key)).add(upload)

    def add_all(self, uploads: Iterable[UploadFacts]) -> None:
        for upload in uploads:
            self.add(upload)

    def merge(self, other: Inventory) -> None:
        """Fold another inventory (an earlier invocation, another shard) into this one.
        This one's caps and price apply."""
        if other.source != self.source:
            raise ValueError(f"cannot merge a {other.source} report into a {self.source} one")
        for name, theirs in other._buckets.items():
            mine = self._bucket(name)
            if theirs.has_abort_rule is not None:
                mine.has_abort_rule = theirs.has_abort_rule
            for prefix, stats in theirs.prefixes.items():
                self._slice(mine, prefix).merge(stats)
            if theirs.other is not None:
                if mine.other is None:
                    mine.other = self._new_stats()
                mine.other.merge(theirs.other)
        self._server_time_max = _latest(self._server_time_max, other._server_time_max)

    # -- JSON --------------------------------------------------------------------------

    def to_dict(self, *, top_prefixes: int = 10) -> ReportDict:
        price = self.config["price_per_gb_month"]
        total = self._new_stats()
        buckets: dict[str, BucketDict] = {}
        ranking: list[tuple[int, int, str, str]] = []
        for name, bucket in self._buckets.items():
            whole = self._new_stats()
            for stats in _slices(bucket):
                whole.merge(stats)
            total.merge(whole)
            for prefix, stats in bucket.prefixes.items():
                ranking.append((stats.bytes, stats.count, name, prefix))
            buckets[name] = {
                "has_abort_rule": bucket.has_abort_rule,
                "prefixes": {p: s.to_dict(price) for p, s in bucket.prefixes.items()},
                "prefixes_other": None if bucket.other is None else bucket.other.to_dict(price),
                "all": whole.to_dict(price),
            }
        ranking.sort(key=lambda r: (-r[0], -r[1], r[2], r[3]))
        top: list[TopPrefixDict] = [
            {"bucket": b, "prefix": p, "count": c, "bytes": n}
            for n, c, b, p in ranking[:max(top_prefixes, 0)]]
        return {
            "version": 1,
            "source": self.source,
            "config": dict(self.config),  # type: ignore[typeddict-item]
            "server_time_max": _iso_or_none(self.server_time_max),
            "buckets": buckets,
            "total": total.to_dict(price),
            "buckets_without_abort_rule": [
                name for name, bucket in self._buckets.items() if bucket.has_abort_rule is False],
            "top_prefixes": top,
            "top_prefixes_other": _cb(total.count - sum(t["count"] for t in top),
                                      total.bytes - sum(t["bytes"] for t in top)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inventory:
        """Restore an inventory from ``to_dict``'s output (derived fields are ignored and
        recomputed). Raises ValueError on anything that is not such a report."""
        try:
            report = _report_adapter().validate_python(data, strict=True)
        except Exception as exc:  # pydantic's ValidationError, without importing it eagerly
            raise ValueError(f"not an inventory report: {str(exc)[:500]}") from None
        config = report["config"]
        inventory = cls(source=report["source"], **config)
        inventory._server_time_max = _parse_or_none(report["server_time_max"])
        for name, data_bucket in report["buckets"].items():
            bucket = inventory._bucket(name)
            bucket.has_abort_rule = data_bucket["has_abort_rule"]
            _check_cap(len(data_bucket["prefixes"]), config["max_prefixes"], "prefixes")
            for prefix, stats in data_bucket["prefixes"].items():
                if top_prefix(prefix) != prefix:
                    raise ValueError(f"not a top-level prefix: {prefix[:60]!r}")
                bucket.prefixes[prefix] = _Stats.from_dict(stats, config)
            other = data_bucket["prefixes_other"]
            bucket.other = None if other is None else _Stats.from_dict(other, config)
        return inventory


@lru_cache(maxsize=1)
def _report_adapter() -> TypeAdapter[ReportDict]:
    # Built on first restore only: the adapter costs tens of milliseconds to build and
    # most invocations never restore.
    from pydantic import TypeAdapter

    return TypeAdapter(ReportDict)


def _slices(bucket: _Bucket) -> list[_Stats]:
    return [*bucket.prefixes.values(), *([bucket.other] if bucket.other else [])]


def _oldest_entry(upload: UploadFacts) -> OldestDict:
    cover = upload.lifecycle
    return {
        "bucket": upload.bucket, "key": upload.key, "upload_id": upload.upload_id,
        "initiated": iso(upload.initiated), "age_s": float(upload.age_s),
        "bytes": upload.bytes, "parts": upload.parts, "initiator": upload.initiator,
        "verdict": upload.verdict,
        "rule_id": None if cover is None else cover.rule_id,
        "eligible_from": None if cover is None else iso(cover.eligible_from),
        "expected_by": None if cover is None else iso(cover.expected_by),
    }


def _rank(entry: _Oldest) -> tuple[datetime, str, str]:
    return entry.rank


def _cb(count: int, nbytes: int) -> CountBytes:
    return {"count": count, "bytes": nbytes}


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def _parse_or_none(text: str | None) -> datetime | None:
    return None if text is None else parse_iso(text)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _check_cap(size: int, cap: int, what: str) -> None:
    if size > cap:
        raise ValueError(f"{size} {what} exceed the cap of {cap}")


def _check_config(config: ConfigDict) -> None:
    for name, limit in _MAX_CAP.items():
        value = config[name]  # type: ignore[literal-required]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
            raise ValueError(f"{name} must be an integer from 0 to {limit}")
    price = config["price_per_gb_month"]
    if price is not None and not (isinstance(price, (int, float)) and 0 <= price < float("inf")):
        raise ValueError("price_per_gb_month must be a non-negative number")
