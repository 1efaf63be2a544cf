"""The timer and fan-out schemas (pydantic-core, handler/events/timer.py and fanout.py)
against the BaseModels they stand for (tests/support/timer_models.py): same verdict, same
values, same error text, for every input; and what they write, field for field."""

from __future__ import annotations

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
        assert ours[1].to_dict() == theirs[1].model_dump()
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
        assert mine.settings.to_dict() == model.settings.model_dump()
        assert mine.inventory == model.inventory


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
chains = st.builds(
    lambda head, tasks, settings_data, extra: {
        **head, **({"tasks": tasks} if tasks != "absent" else {}),
        **({"settings": settings_data} if settings_data is not None else {}), **extra},
    st.fixed_dictionaries({"run_id": mostly(st.sampled_from(["run-1", "0af3"]),
                                            st.sampled_from(["", "a b", "x" * 65, 7])),
                           "chain": limited(0, 1000), "seq": limited(0, 1_000_000)}),
    mostly(st.lists(mostly(task_items), min_size=1, max_size=3),
           st.one_of(st.just("absent"), st.just([]), scalars)),
    mostly(well_formed_settings, st.one_of(st.none(), any_settings)),
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
        assert mine.to_event() == model_event(model)
        assert read_chain(mine.to_event()["fanout"]) == mine


@pytest.mark.parametrize("cursor", [
    Cursor(bucket="examplebucket"),
    Cursor(bucket="examplebucket", prefix="logs/", key_marker="k+1%", upload_id_marker="u1"),
    Cursor(bucket="examplebucket", prefix="logs/", delimiter="/"),
    Task(bucket="examplebucket", prefix="logs/", key_marker="k", plan=True),
])
def test_a_continuation_is_written_as_the_model_wrote_it(cursor: Cursor) -> None:
    chosen = read_settings({"buckets": ["examplebucket"], "prefixes": ["", "logs/"],
                            "min_age": "2h"})
    model_settings = oracle.SweepSettings.model_validate(chosen.to_dict())
    fields = {k: v for k, v in cursor.to_dict().items() if k in CURSOR_NAMES}
    written = oracle.Continuation(**{k: v for k, v in fields.items() if k != "delimiter"},
                                  settings=model_settings, inventory={"count": 3})
    assert continuation_of(cursor, chosen, {"count": 3}) == \
        written.model_dump(exclude={"delimiter"})
    assert read_continuation(continuation_of(cursor, chosen)).after(None, None) == \
        read_continuation(continuation_of(cursor.after(None, None), chosen))


def test_a_continuation_outside_its_settings_is_not_written() -> None:
    chosen = read_settings({"buckets": ["examplebucket"], "min_age": "2h"})
    with pytest.raises(ValueError, match="come from its settings"):
        continuation_of(Cursor(bucket="otherbucket"), chosen)


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
