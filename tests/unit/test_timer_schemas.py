"""The timer and fan-out schemas (pydantic-core, handler/events/timer.py and fanout.py)
against the BaseModels they stand for (tests/support/timer_models.py): same verdict, same
values, same error text, for every input; and what they write, field for field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.events.errors import InvalidEvent, describe, validate
from handler.events.fanout import ChainEvent, Task, read_chain
from handler.events.timer import (
    Cursor,
    SweepSettings,
    continuation_of,
    read_continuation,
    read_settings,
    read_timer_event,
)
from tests.support import timer_models as oracle

SETTING_NAMES = ("buckets", "prefixes", "exclude_prefixes", "min_age", "force", "dry_run",
                 "max_aborts", "concurrency", "initiator", "check_activity", "verify_aborts",
                 "verify_mode", "max_consecutive_failures", "mode", "shards", "max_in_flight",
                 "other")
VALID_SETTINGS = {"buckets": ["examplebucket"], "min_age": "2h"}

texts = st.sampled_from(["examplebucket", "Example", "ex..ample", "192.168.1.1", "", "2s",
                         "24h", "90m", "7d", "1h30m", "forever", "5000d", "p/" * 600, "listing",
                         "parts", "direct", "fanout", "inventory", "TIMER", "x" * 300, "2~x",
                         "/", "a/b/", "\x1b"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 10_000_001),
                    st.sampled_from([0, 1, 32, 64, 65, 100, 101, 10_000, 1.5, 2.0]), texts,
                    st.text(max_size=8))
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.lists(texts, min_size=1, max_size=3),
                   st.dictionaries(st.sampled_from(["a", "count"]), scalars, max_size=2))
setting_items = st.dictionaries(st.sampled_from(SETTING_NAMES), values, max_size=6)
near_valid_settings = st.builds(lambda extra: {**VALID_SETTINGS, **extra}, setting_items)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = scalars
           ) -> st.SearchStrategy[Any]:
    """Usually a good value (nine times in ten), now and then anything. (Measured: a
    one_of with the good strategy nine times still drew the bad one about half the time.)"""
    return st.integers(0, 9).flatmap(lambda n: bad if n == 9 else good)


def limited(low: int, high: int) -> st.SearchStrategy[Any]:
    return mostly(st.integers(low, high), st.sampled_from([low - 1, high + 1, True, 1.0, "3"]))


prefix_lists = mostly(st.lists(st.sampled_from(["", "logs/", "a b/", "中/"]), min_size=1,
                               max_size=3), st.just(["p" * 1025]))
# Settings as an operator writes them: each field usually well formed, so that valid
# settings and single faults are both common.
well_formed_settings = st.fixed_dictionaries(
    {"buckets": mostly(st.lists(st.sampled_from(["examplebucket", "other-bucket"]),
                                min_size=1, max_size=2))},
    optional={
        "prefixes": mostly(prefix_lists), "exclude_prefixes": mostly(prefix_lists),
        "min_age": mostly(st.sampled_from(["2h", "24h", "90m", "1h30m", "7d", "2s", "59m"])),
        "force": mostly(st.booleans()), "dry_run": mostly(st.booleans()),
        "max_aborts": mostly(st.one_of(st.none(), st.integers(0, 10_000_000))),
        "concurrency": limited(1, 64), "initiator": mostly(st.one_of(st.none(), texts)),
        "check_activity": mostly(st.booleans()), "verify_aborts": mostly(st.booleans()),
        "verify_mode": mostly(st.sampled_from(["listing", "parts"])),
        "max_consecutive_failures": limited(1, 10_000),
        "mode": mostly(st.sampled_from(["direct", "fanout", "inventory"])),
        "shards": mostly(st.one_of(st.none(), st.lists(st.sampled_from(["a/", "b/"]),
                                                         max_size=3))),
        "max_in_flight": limited(1, 100),
    })
any_settings = st.one_of(setting_items, near_valid_settings, well_formed_settings,
                         well_formed_settings)


def same_text(ours: Any, theirs: Any) -> bool:
    """Equal as JSON text: key order counts, and so does True against 1."""
    return json.dumps(ours) == json.dumps(theirs)


def verdict(read: Any, data: Any) -> tuple[str, Any]:
    try:
        return "valid", read(data)
    except InvalidEvent as exc:
        return "invalid", str(exc)


def judged_alike(read: Any, model: type[Any], data: dict[str, Any], label: str
                 ) -> tuple[Any, Any] | None:
    """Ours and the model's reading of ``data``: both valid (returned), or both refused
    in the same words (None)."""
    ours = verdict(read, data)
    theirs = verdict(lambda d: validate(model, d, label), data)
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "invalid":
        assert ours[1] == theirs[1]
        return None
    return ours[1], theirs[1]


def settings_verdict(read: Any, data: dict[str, Any]) -> tuple[str, Any]:
    from pydantic_core import ValidationError

    try:
        return "valid", read(data)
    except ValidationError as exc:
        return "invalid", describe(exc, "settings")


@settings(max_examples=800, deadline=None)
@given(data=any_settings)
def test_settings_read_as_the_model_read_them(data: dict[str, Any]) -> None:
    ours = settings_verdict(read_settings, data)
    theirs = settings_verdict(oracle.SweepSettings.model_validate, data)
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "valid":
        assert same_text(ours[1].to_dict(), theirs[1].model_dump())
        assert ours[1].age == oracle_age(theirs[1])
    else:
        assert ours[1] == theirs[1]


def oracle_age(model: oracle.SweepSettings) -> Any:
    from handler.settings import parse_duration

    return parse_duration(model.min_age)


CURSOR_NAMES = ("bucket", "prefix", "key_marker", "upload_id_marker", "delimiter")
cursor_items = st.dictionaries(st.sampled_from([*CURSOR_NAMES, "other"]), scalars, max_size=4)
near_valid_cursors = st.builds(lambda extra: {"bucket": "examplebucket", **extra}, cursor_items)
well_formed_cursors = st.fixed_dictionaries(
    {"bucket": mostly(st.sampled_from(["examplebucket", "other-bucket"]))},
    optional={"prefix": mostly(st.sampled_from(["", "logs/", "p" * 1025])),
              "key_marker": mostly(st.one_of(st.none(), texts)),
              "upload_id_marker": mostly(st.one_of(st.none(), st.sampled_from(["u1", "x" * 257]))),
              "delimiter": mostly(st.sampled_from([None, "/", "//"]))})
continuations = st.builds(
    lambda cursor, settings_data, inventory, extra: {
        **cursor, **({"settings": settings_data} if settings_data is not None else {}),
        **({"inventory": inventory} if inventory != "absent" else {}), **extra},
    st.one_of(cursor_items, near_valid_cursors, well_formed_cursors, well_formed_cursors),
    st.one_of(st.none(), any_settings, well_formed_settings, scalars),
    st.one_of(st.just("absent"), st.none(), st.dictionaries(st.text(max_size=3), scalars,
                                                            max_size=2), scalars),
    st.dictionaries(st.sampled_from(["unknown", "mode"]), scalars, max_size=1),
)



def _resuming(settings_data: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A continuation whose place is (usually) one of its settings' buckets and prefixes."""
    buckets = settings_data["buckets"] if isinstance(settings_data.get("buckets"), list) else []
    prefixes = settings_data.get("prefixes", [""])
    prefixes = prefixes if isinstance(prefixes, list) else []
    place = st.fixed_dictionaries(
        {"bucket": mostly(st.sampled_from(buckets or ["examplebucket"]))},
        optional={"prefix": mostly(st.sampled_from(prefixes or [""])),
                  "key_marker": mostly(st.one_of(st.none(), texts)),
                  "upload_id_marker": mostly(st.one_of(st.none(), st.just("u1"))),
                  "inventory": mostly(st.one_of(st.none(), st.just({"count": 1})))})
    return place.map(lambda fields: {**fields, "settings": settings_data})


continuations = st.one_of(continuations, well_formed_settings.flatmap(_resuming),
                          well_formed_settings.flatmap(_resuming))


@settings(max_examples=800, deadline=None)
@given(data=continuations)
def test_continuations_read_as_the_model_read_them(data: dict[str, Any]) -> None:
    both = judged_alike(read_continuation, oracle.Continuation, data, "continuation")
    if both is not None:
        mine, model = both
        assert {name: getattr(mine, name) for name in CURSOR_NAMES} == \
            model.model_dump(include=set(CURSOR_NAMES))
        assert same_text(mine.settings.to_dict(), model.settings.model_dump())
        assert same_text(mine.inventory, model.inventory)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["trigger_type", "user_event", "other"]),
                            st.one_of(st.just("TIMER"), scalars, st.dictionaries(
                                st.sampled_from(["buckets"]), scalars, max_size=1)),
                            max_size=3))
def test_timer_events_read_as_the_model_read_them(data: dict[str, Any]) -> None:
    both = judged_alike(read_timer_event, oracle.TimerEvent, data, "timer event")
    if both is not None:
        mine, model = both
        assert (mine.trigger_type, mine.user_event) == (model.trigger_type, model.user_event)


task_items = st.builds(lambda cursor, plan: {**cursor, **plan}, st.one_of(
    cursor_items, near_valid_cursors, well_formed_cursors, well_formed_cursors),
    st.dictionaries(st.just("plan"), mostly(st.booleans()), max_size=1))
well_formed_tasks = st.builds(lambda cursor, plan: {**cursor, **plan}, well_formed_cursors,
                              st.dictionaries(st.just("plan"), mostly(st.booleans()),
                                              max_size=1))
chain_settings = mostly(st.sampled_from([VALID_SETTINGS, {
    "buckets": ["examplebucket", "other-bucket"], "min_age": "2s", "force": True,
    "mode": "fanout", "concurrency": 8, "prefixes": ["", "logs/"]}]), well_formed_settings)
chains = st.builds(
    lambda head, tasks, settings_data, extra: {
        **head, **({"tasks": tasks} if tasks != "absent" else {}),
        **({"settings": settings_data} if settings_data is not None else {}), **extra},
    st.fixed_dictionaries({"run_id": mostly(st.sampled_from(["run-1", "0af3"]),
                                            st.sampled_from(["", "a b", "x" * 65, 7])),
                           "chain": limited(0, 1000), "seq": limited(0, 1_000_000)}),
    mostly(st.lists(mostly(well_formed_tasks, task_items), min_size=1, max_size=3),
           st.one_of(st.just("absent"), st.just([]), scalars)),
    mostly(chain_settings, st.one_of(st.none(), any_settings)),
    st.dictionaries(st.sampled_from(["unknown"]), scalars, max_size=1),
)


def model_event(model: oracle.ChainEvent) -> dict[str, Any]:
    """What ChainEvent.to_event wrote when it was a model."""
    return {"fanout": model.model_dump(exclude_defaults=True, exclude={"settings"})
            | {"settings": model.settings.model_dump()}}


@settings(max_examples=800, deadline=None)
@given(data=chains)
def test_chain_events_read_and_write_as_the_model_did(data: dict[str, Any]) -> None:
    both = judged_alike(read_chain, oracle.ChainEvent, data, "fanout")
    if both is not None:
        mine, model = both
        assert same_text(mine.to_event(), model_event(model))
        assert read_chain(mine.to_event()["fanout"]) == mine


@pytest.mark.parametrize("place", [
    {"bucket": "examplebucket"},
    {"bucket": "examplebucket", "prefix": "logs/", "key_marker": "k+1%", "upload_id_marker": "u1"},
    {"bucket": "examplebucket", "prefix": "logs/", "delimiter": "/"},
    {"bucket": "examplebucket", "prefix": "logs/", "key_marker": "k", "plan": True},
])
def test_a_continuation_is_written_as_the_model_wrote_it_and_reads_back(
        place: dict[str, Any]) -> None:
    chosen = {"buckets": ["examplebucket"], "prefixes": ["", "logs/"], "min_age": "2h"}
    cursor = (Task if "plan" in place else Cursor)(**place)
    own = {k: v for k, v in place.items() if k not in ("delimiter", "plan")}
    model = oracle.Continuation(**own, settings=oracle.SweepSettings(**chosen),
                                inventory={"count": 3})
    written = continuation_of(cursor, read_settings(chosen), {"count": 3})
    assert same_text(written, model.model_dump(exclude={"delimiter"}))
    resumed = read_continuation(written)
    assert resumed.to_dict(skip_defaults=True) == \
        {k: v for k, v in own.items()} | {"settings": resumed.settings, "inventory": {"count": 3}}
    assert resumed.settings == read_settings(chosen)


@pytest.mark.parametrize(("place", "problem"), [
    ({"bucket": "otherbucket"}, "bucket and prefix must be among the settings'"),
    ({"bucket": "examplebucket", "prefix": "elsewhere/"}, "bucket and prefix must be among"),
    ({"bucket": "examplebucket", "upload_id_marker": "u" * 257},
     "upload_id_marker: String should have at most 256 characters"),
    ({"bucket": "examplebucket", "key_marker": "k" * 1025},
     "key_marker: String should have at most 1024 characters"),
])
def test_a_continuation_the_next_invocation_would_refuse_is_not_written(
        place: dict[str, Any], problem: str) -> None:
    from pydantic_core import ValidationError

    chosen = read_settings({"buckets": ["examplebucket"], "min_age": "2h"})
    with pytest.raises(ValidationError) as raised:
        continuation_of(Cursor(**place), chosen)
    assert problem in describe(raised.value, "continuation")


def test_a_chain_the_next_invocation_would_refuse_is_not_written() -> None:
    from pydantic_core import ValidationError

    chosen = read_settings(VALID_SETTINGS)
    too_long = Task(bucket="examplebucket", prefix="p" * 1025)
    for tasks, problem in (([too_long], "tasks.0.prefix: String should have at most 1024"),
                           ([Task(bucket="examplebucket")] * 10_001,
                            "tasks: List should have at most 10000 items")):
        with pytest.raises(ValidationError) as raised:
            ChainEvent(run_id="r", chain=0, seq=0, tasks=tasks, settings=chosen).to_event()
        assert problem in describe(raised.value, "fanout")


def test_the_values_are_frozen_and_compare_by_value() -> None:
    chosen = read_settings(VALID_SETTINGS)
    assert chosen == SweepSettings(buckets=["examplebucket"], min_age="2h")
    with pytest.raises(AttributeError):
        chosen.force = True  # type: ignore[misc]
    task = Task(bucket="examplebucket", plan=True)
    assert task.after("k", "u") == Task(bucket="examplebucket", plan=True, key_marker="k",
                                        upload_id_marker="u")
    chain = ChainEvent(run_id="r", chain=0, seq=0, tasks=[task], settings=chosen)
    assert chain.to_event()["fanout"]["tasks"] == [{"bucket": "examplebucket", "plan": True}]


def _names(count: int) -> list[str]:
    return [f"bucket-{n:05d}" for n in range(count)]


# Every bound of every field, at the bound and one past it: a bound moved in the schema
# moves a verdict away from the model's.
SETTINGS_BOUNDS: list[tuple[str, Any, Any]] = [
    ("buckets", _names(100), _names(101)),
    ("buckets", _names(1), []),
    ("prefixes", [f"p{n}/" for n in range(100)], [f"p{n}/" for n in range(101)]),
    ("prefixes", ["p" * 1024], ["p" * 1025]),
    ("exclude_prefixes", [f"p{n}/" for n in range(100)], [f"p{n}/" for n in range(101)]),
    ("exclude_prefixes", ["p" * 1024], ["p" * 1025]),
    ("min_age", "2h" + " " * 38, "2h" + " " * 39),
    ("min_age", "3650d", "3651d"),
    ("max_aborts", 10_000_000, 10_000_001),
    ("max_aborts", 0, -1),
    ("concurrency", 64, 65),
    ("concurrency", 1, 0),
    ("initiator", "i" * 256, "i" * 257),
    ("max_consecutive_failures", 10_000, 10_001),
    ("max_consecutive_failures", 1, 0),
    ("shards", [f"s{n}/" for n in range(10_000)], [f"s{n}/" for n in range(10_001)]),
    ("max_in_flight", 100, 101),
    ("max_in_flight", 1, 0),
]
PLACE_BOUNDS: list[tuple[str, Any, Any]] = [
    ("key_marker", "k" * 1024, "k" * 1025),
    ("upload_id_marker", "u" * 256, "u" * 257),
    ("delimiter", "/", "//"),
]
CHAIN_BOUNDS: list[tuple[str, Any, Any]] = [
    ("run_id", "r" * 64, "r" * 65),
    ("run_id", "r", ""),
    ("chain", 1000, 1001),
    ("chain", 0, -1),
    ("seq", 1_000_000, 1_000_001),
    ("seq", 0, -1),
    ("tasks", [{"bucket": "examplebucket"}] * 10_000, [{"bucket": "examplebucket"}] * 10_001),
    ("tasks", [{"bucket": "examplebucket"}], []),
    ("tasks", [{"bucket": "examplebucket", "prefix": "p" * 1024}],
     [{"bucket": "examplebucket", "prefix": "p" * 1025}]),
]


@pytest.mark.parametrize(("name", "at", "past"), SETTINGS_BOUNDS,
                         ids=[f"{row[0]}-{n}" for n, row in enumerate(SETTINGS_BOUNDS)])
def test_settings_bounds_are_the_models(name: str, at: Any, past: Any) -> None:
    for value, expected in ((at, "valid"), (past, "invalid")):
        data = {**VALID_SETTINGS, "buckets": ["examplebucket"], name: value}
        ours = settings_verdict(read_settings, data)
        assert ours[0] == settings_verdict(oracle.SweepSettings.model_validate, data)[0]
        assert ours[0] == expected, (name, ours)


@pytest.mark.parametrize(("name", "at", "past"), PLACE_BOUNDS,
                         ids=[f"{row[0]}-{n}" for n, row in enumerate(PLACE_BOUNDS)])
def test_continuation_bounds_are_the_models(name: str, at: Any, past: Any) -> None:
    for value, expected in ((at, "valid"), (past, "invalid")):
        data = {"bucket": "examplebucket", name: value, "settings": VALID_SETTINGS}
        judged_alike(read_continuation, oracle.Continuation, data, "continuation")
        assert verdict(read_continuation, data)[0] == expected


@pytest.mark.parametrize(("name", "at", "past"), CHAIN_BOUNDS,
                         ids=[f"{row[0]}-{n}" for n, row in enumerate(CHAIN_BOUNDS)])
def test_chain_bounds_are_the_models(name: str, at: Any, past: Any) -> None:
    for value, expected in ((at, "valid"), (past, "invalid")):
        data = {"run_id": "r", "chain": 0, "seq": 0, "tasks": [{"bucket": "examplebucket"}],
                "settings": VALID_SETTINGS, name: value}
        judged_alike(read_chain, oracle.ChainEvent, data, "fanout")
        assert verdict(read_chain, data)[0] == expected
