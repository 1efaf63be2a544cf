"""The inventory accumulator: per-slice counters, bounded lists, JSON round trip,
resumption and merging."""

from __future__ import annotations

import copy
import json
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from handler.inventory.aggregate import (
    AGE_BINS,
    GIB,
    Inventory,
    UploadFacts,
    age_bin,
    monthly_cost,
    top_prefix,
)
from handler.inventory.lifecycle_rules import AbortRule, BucketLifecycle
from tests.inventory.samples import NOW, sample_inventory, sample_uploads

HOUR, DAY = 3600.0, 86400.0
RULES = BucketLifecycle((AbortRule("tmp-1d", "tmp/", True, 1),))


def fact(key: str = "k", *, bucket: str = "b", age: float = 2 * DAY, nbytes: int | None = 100,
         parts: int | None = 2, verdict: str = "would_abort", initiator: str | None = "alice",
         upload_id: str | None = None, covered: bool | None = None) -> UploadFacts:
    initiated = NOW - timedelta(seconds=age)
    lifecycle = RULES.coverage(key, initiated)
    if covered is False:
        lifecycle = None
    return UploadFacts(bucket=bucket, key=key, upload_id=upload_id or f"id-{key}-{age}",
                       initiated=initiated, initiator=initiator, parts=parts, bytes=nbytes,
                       last_part=None, age_s=age, verdict=verdict, lifecycle=lifecycle)


def report(facts: list[UploadFacts], **options: Any) -> dict[str, Any]:
    inventory = Inventory(**options)
    inventory.add_all(facts)
    return dict(inventory.to_dict())


@pytest.mark.parametrize(("key", "prefix"), [
    ("a/b/c", "a/"), ("abc", ""), ("/x", "/"), ("", ""), ("a//b", "a/"), ("dir/", "dir/"),
    ("<script>/x", "<script>/"),
])
def test_top_prefix_is_the_key_up_to_its_first_slash(key: str, prefix: str) -> None:
    assert top_prefix(key) == prefix


@pytest.mark.parametrize(("age", "name"), [
    (-30.0, "lt1h"), (0.0, "lt1h"), (HOUR - 0.001, "lt1h"), (HOUR, "1-24h"),
    (DAY - 1, "1-24h"), (DAY, "1-7d"), (7 * DAY - 1, "1-7d"), (7 * DAY, "7-30d"),
    (30 * DAY - 1, "7-30d"), (30 * DAY, "gt30d"), (3650 * DAY, "gt30d"),
])
def test_age_bins_are_half_open(age: float, name: str) -> None:
    assert AGE_BINS[age_bin(age)] == name
    assert report([fact(age=age)])["total"]["age"][name] == {"count": 1, "bytes": 100}


@pytest.mark.parametrize(("nbytes", "price", "cost"), [
    (GIB, 0.023, 0.023), (0, 1.0, 0.0), (3 * 2**29, 2.0, 3.0), (10**9, 1.0, 10**9 / 2**30),
    (GIB, None, None),
])
def test_monthly_cost_prices_binary_gigabytes(nbytes: int, price: float | None,
                                              cost: float | None) -> None:
    assert monthly_cost(nbytes, price) == cost


# Each scenario: uploads and a few fields of the total they must produce.
SCENARIOS: list[tuple[str, list[UploadFacts], dict[str, Any]]] = [
    ("empty", [], {"count": 0, "bytes": 0, "parts": 0, "unsized": 0}),
    ("sizes add up", [fact("a", nbytes=5, parts=1), fact("b", nbytes=7, parts=3)],
     {"count": 2, "bytes": 12, "parts": 4, "unsized": 0}),
    ("an unsized upload counts but adds no bytes",
     [fact("a", nbytes=None, parts=None), fact("b", nbytes=9, parts=1)],
     {"count": 2, "bytes": 9, "parts": 1, "unsized": 1}),
    ("selected and kept by verdict",
     [fact("a", verdict="would_abort", nbytes=10), fact("b", verdict="too_young", nbytes=1),
      fact("c", verdict="active", nbytes=2), fact("d", verdict="aborted", nbytes=20),
      fact("e", verdict="excluded_prefix", nbytes=4)],
     {"sweep.selected": {"count": 2, "bytes": 30}, "sweep.kept": {"count": 3, "bytes": 7},
      "sweep.by_verdict.active": {"count": 1, "bytes": 2}}),
    ("covered, overdue and janitor-only",
     # tmp/ is covered after 1 day (+ next midnight), so a 5-day-old tmp/ upload is
     # overdue (past eligible + 48 h); a 1-hour-old one is covered but not yet due.
     [fact("tmp/old", age=5 * DAY, nbytes=50), fact("tmp/new", age=HOUR, nbytes=5,
                                                    verdict="too_young"),
      fact("data/x", age=9 * DAY, nbytes=700), fact("data/y", age=HOUR, nbytes=3,
                                                    verdict="too_young")],
     {"lifecycle.covered.count": 2, "lifecycle.covered.bytes": 55,
      "lifecycle.covered.overdue": {"count": 1, "bytes": 50},
      "lifecycle.janitor_only.count": 2, "lifecycle.janitor_only.bytes": 703,
      "lifecycle.janitor_only.selected": {"count": 1, "bytes": 700},
      "lifecycle.janitor_only.oldest_initiated": "2026-11-22T09:30:00Z",
      "lifecycle.covered.eligible_from_min": "2026-11-28T00:00:00Z",
      "lifecycle.covered.expected_by_max": "2026-12-05T00:00:00Z"}),
    ("initiators and missing ones",
     [fact("a", initiator="x"), fact("b", initiator="x"), fact("c", initiator=None)],
     {"initiators": {"counts": {"x": 2}, "other": 0, "missing": 1}}),
]


def dig(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


@pytest.mark.parametrize(("facts", "expected"), [(f, e) for _, f, e in SCENARIOS],
                         ids=[name for name, _, _ in SCENARIOS])
def test_the_total_counts_what_was_fed(facts: list[UploadFacts],
                                       expected: dict[str, Any]) -> None:
    total = report(facts)["total"]
    for path, value in expected.items():
        assert dig(total, path) == value, path


def test_slices_are_per_bucket_and_top_level_prefix() -> None:
    data = report([fact("logs/a", bucket="b1", nbytes=1), fact("logs/b/c", bucket="b1", nbytes=2),
                   fact("root", bucket="b1", nbytes=4), fact("logs/x", bucket="b2", nbytes=8)])
    b1 = data["buckets"]["b1"]
    assert {p: s["bytes"] for p, s in b1["prefixes"].items()} == {"logs/": 3, "": 4}
    assert b1["all"]["bytes"] == 7
    assert data["buckets"]["b2"]["all"]["bytes"] == 8
    assert data["total"]["bytes"] == 15
    assert [(t["bucket"], t["prefix"], t["bytes"]) for t in data["top_prefixes"]] == [
        ("b2", "logs/", 8), ("b1", "", 4), ("b1", "logs/", 3)]


def test_top_prefixes_and_the_rest_add_up_to_the_total() -> None:
    data = sample_inventory(3000).to_dict(top_prefixes=4)
    assert len(data["top_prefixes"]) == 4
    sizes = [t["bytes"] for t in data["top_prefixes"]]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) + data["top_prefixes_other"]["bytes"] == data["total"]["bytes"]
    assert (sum(t["count"] for t in data["top_prefixes"]) + data["top_prefixes_other"]["count"]
            == data["total"]["count"] == 3000)


def test_the_oldest_are_kept_in_order_whatever_order_they_arrive_in() -> None:
    facts = [fact(f"k{i:03d}", age=float(i * 1000 + 1)) for i in range(200)]
    expected = [f"k{i:03d}" for i in range(199, 194, -1)]
    for seed in range(3):
        random.Random(seed).shuffle(facts)
        oldest = report(facts, oldest_n=5)["total"]["oldest"]
        assert [o["key"] for o in oldest] == expected
        assert oldest[0]["age_s"] == 199 * 1000 + 1


def test_equal_times_break_ties_by_key_so_the_list_is_deterministic() -> None:
    facts = [fact(f"k{i}", age=DAY, upload_id="same") for i in range(10)]
    first = report(facts, oldest_n=3)["total"]["oldest"]
    second = report(list(reversed(facts)), oldest_n=3)["total"]["oldest"]
    assert [o["key"] for o in first] == [o["key"] for o in second] == ["k0", "k1", "k2"]


def test_an_oldest_entry_carries_what_the_page_shows() -> None:
    entry = report([fact("tmp/a", age=3 * DAY, nbytes=42, parts=3)])["total"]["oldest"][0]
    assert entry == {
        "bucket": "b", "key": "tmp/a", "upload_id": f"id-tmp/a-{3 * DAY}",
        "initiated": "2026-11-28T09:30:00Z", "age_s": 3 * DAY, "bytes": 42, "parts": 3,
        "initiator": "alice", "verdict": "would_abort", "rule_id": "tmp-1d",
        "eligible_from": "2026-11-30T00:00:00Z", "expected_by": "2026-12-02T00:00:00Z"}


def test_initiators_past_the_cap_fold_into_other() -> None:
    names = ["a", "b", "c", "d", "e", "a", "d", None]
    data = report([fact(f"k{i}", initiator=n) for i, n in enumerate(names)], max_initiators=3)
    assert data["total"]["initiators"] == {"counts": {"a": 2, "b": 1, "c": 1}, "other": 3,
                                           "missing": 1}


def test_verdicts_past_the_cap_count_as_kept() -> None:
    data = report([fact(f"k{i}", verdict=v) for i, v in enumerate(["too_young", "x", "would_abort"])],
                  max_verdicts=1)
    sweep = data["total"]["sweep"]
    assert sweep["by_verdict"] == {"too_young": {"count": 1, "bytes": 100}}
    assert sweep["other"] == {"count": 2, "bytes": 200}
    assert sweep["kept"]["count"] == 3


def test_prefixes_past_the_cap_go_to_one_other_slice_and_still_count() -> None:
    data = report([fact(f"p{i}/x", nbytes=i) for i in range(5)], max_prefixes=2)
    bucket = data["buckets"]["b"]
    assert list(bucket["prefixes"]) == ["p0/", "p1/"]
    assert bucket["prefixes_other"]["count"] == 3
    assert bucket["prefixes_other"]["bytes"] == 2 + 3 + 4
    assert bucket["all"]["count"] == data["total"]["count"] == 5


def test_costs_appear_only_with_a_price() -> None:
    facts = [fact("a", nbytes=GIB), fact("tmp/b", nbytes=GIB, verdict="too_young")]
    priced = report(facts, price_per_gb_month=0.5, currency="EUR")
    assert priced["total"]["cost"] == {"monthly": 1.0, "selected_monthly": 0.5,
                                       "janitor_only_monthly": 0.5}
    assert priced["buckets"]["b"]["prefixes"]["tmp/"]["cost"]["monthly"] == 0.5
    assert priced["config"]["currency"] == "EUR"
    unpriced = report(facts)
    assert unpriced["total"]["cost"] is None
    assert unpriced["buckets"]["b"]["all"]["cost"] is None


def test_buckets_are_flagged_by_their_abort_rules_even_without_uploads() -> None:
    inventory = Inventory()
    inventory.set_bucket("with-rule", has_abort_rule=True)
    inventory.set_bucket("without", has_abort_rule=False)
    inventory.set_bucket("unreadable", has_abort_rule=None)
    data = inventory.to_dict()
    assert data["buckets_without_abort_rule"] == ["without"]
    assert data["buckets"]["without"]["all"]["count"] == 0
    assert data["buckets"]["unreadable"]["has_abort_rule"] is None


def test_the_report_is_as_of_the_latest_server_time_noted() -> None:
    inventory = Inventory()
    assert inventory.to_dict()["server_time_max"] is None
    inventory.note_server_time(NOW)
    inventory.note_server_time(NOW - timedelta(hours=1))
    assert inventory.to_dict()["server_time_max"] == "2026-12-01T09:30:00Z"


def test_the_report_is_json_and_restores_to_the_same_report() -> None:
    original = sample_inventory(1500, price=0.023).to_dict()
    text = json.dumps(original, allow_nan=False)
    restored = Inventory.from_dict(json.loads(text))
    assert restored.to_dict() == original
    assert restored.count == 1500


def test_a_run_resumed_across_invocations_equals_one_pass() -> None:
    facts = list(sample_uploads(1800))
    one_pass = Inventory(price_per_gb_month=0.02)
    one_pass.add_all(facts)
    state: dict[str, Any] | None = None
    for start in range(0, 1800, 700):  # three invocations, state carried as JSON
        inventory = (Inventory(price_per_gb_month=0.02) if state is None
                     else Inventory.from_dict(state))
        inventory.add_all(facts[start:start + 700])
        state = json.loads(json.dumps(inventory.to_dict()))
    assert state == one_pass.to_dict()


def test_merged_shards_equal_one_pass() -> None:
    facts = list(sample_uploads(1200))
    one_pass = Inventory()
    one_pass.add_all(facts)
    shards = [Inventory() for _ in range(3)]
    for index, upload in enumerate(facts):
        shards[index % 3].add(upload)
    merged = Inventory()
    for shard in shards:
        merged.merge(shard)
    assert merged.to_dict() == one_pass.to_dict()


def test_merge_keeps_known_lifecycle_flags_and_refuses_mixed_sources() -> None:
    first, second = Inventory(), Inventory()
    first.set_bucket("b", has_abort_rule=True)
    second.set_bucket("b", has_abort_rule=None)
    first.merge(second)
    assert first.to_dict()["buckets"]["b"]["has_abort_rule"] is True
    with pytest.raises(ValueError, match="merge"):
        first.merge(Inventory(source="sweep"))


def _valid() -> dict[str, Any]:
    return dict(json.loads(json.dumps(sample_inventory(200).to_dict())))


def _first_prefix(data: dict[str, Any]) -> dict[str, Any]:
    return next(iter(next(iter(data["buckets"].values()))["prefixes"].values()))


def _set(path: str, value: Any) -> Any:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = _first_prefix(data) if part == "<prefix>" else target[part]
        target[last] = value
    return mutate


def _too_many_oldest(data: dict[str, Any]) -> None:
    entries = _first_prefix(data)["oldest"]
    entries.extend(copy.deepcopy(entries) * 3)


def _deep_prefix(data: dict[str, Any]) -> None:
    bucket = next(iter(data["buckets"].values()))
    bucket["prefixes"]["a/b/"] = bucket["prefixes"].pop(next(iter(bucket["prefixes"])))


@pytest.mark.parametrize("mutate", [
    _set("version", 2),
    _set("source", "guess"),
    _set("config.oldest_n", 10**9),
    _set("config.max_prefixes", -1),
    _set("config.price_per_gb_month", -0.5),
    _set("<prefix>.count", True),
    _set("<prefix>.count", "12"),
    _set("<prefix>.bytes", 1.5),
    _set("<prefix>.age", {}),
    _set("server_time_max", "yesterday"),
    _set("buckets", []),
    _too_many_oldest,
    _deep_prefix,
], ids=lambda m: getattr(m, "__name__", "set"))
def test_a_restored_state_that_is_not_a_report_is_refused(mutate: Any) -> None:
    data = _valid()
    mutate(data)
    with pytest.raises(ValueError):
        Inventory.from_dict(data)


@pytest.mark.parametrize("data", [None, [], "report", {}, {"version": 1}])
def test_things_that_are_not_reports_at_all_are_refused(data: Any) -> None:
    with pytest.raises(ValueError, match="not an inventory report"):
        Inventory.from_dict(data)


@pytest.mark.parametrize("changes", [
    {"bytes": -1}, {"parts": -1}, {"initiated": datetime(2026, 1, 1)},
])
def test_upload_facts_refuse_impossible_values(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(fact(), **changes)


def test_ages_measure_the_servers_clock_not_ours() -> None:
    # Same initiation time, different server-clock ages: the bins follow age_s.
    base = fact("a", age=2 * DAY)
    skewed = replace(base, key="b", age_s=10.0)
    data = report([base, skewed])
    assert data["total"]["age"]["1-7d"]["count"] == 1
    assert data["total"]["age"]["lt1h"]["count"] == 1
    assert datetime.fromisoformat(
        data["total"]["oldest"][0]["initiated"].replace("Z", "+00:00")).tzinfo == timezone.utc
