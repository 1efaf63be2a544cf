"""Settings honoured or refused and the operator's age floor.

A user_event object is read like its JSON text; what cannot be read is a 400 naming the
field; a bad environment value is a 500 ConfigError naming the variable (from the
function's user data or the process environment alike); booleans are not counts; and
SWEEP_MIN_AGE_FLOOR holds against every event that carries sweep settings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from tests.reliability.hostile import (
    ANY_URL,
    BUCKET,
    VALID_ID,
    Entry,
    Page,
    ScriptedObs,
    count_keyless,
    hostile_context,
    iso,
    now,
    run,
    timer,
)
from tests.reliability.metrics import FIGURES, scenario
from tests.reliability.test_hostile_listings import OLD

ABORT = {"bucket": BUCKET, "objectKey": "k", "uploadId": VALID_ID}


def swept(event: Any, context: Any = None, entries: list[Entry] | None = None,
          ) -> tuple[dict[str, Any], ScriptedObs]:
    """``event`` against a bucket holding one old upload (and ``entries``)."""
    server = ScriptedObs({None: Page(entries or [Entry("old.bin", VALID_ID, iso(now() - OLD))])})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        reply = run(event, context or hostile_context())
    count_keyless(server.sent)
    return reply, server


def refused(reply: dict[str, Any], status: int, code: str, *names: str) -> None:
    assert (reply.get("status"), reply.get("errorCode")) == (status, code), reply
    for name in names:
        assert name in (reply.get("errorMessage") or ""), f"{name} not named: {reply}"


# -- a user_event object is read, not ignored -------------------------------------------------

def test_a_user_event_object_with_dry_run_true_aborts_nothing() -> None:
    event = {"trigger_type": "TIMER", "user_event": {"buckets": [BUCKET], "dry_run": True,
                                                     "min_age": "24h"}}
    reply, server = swept(event)
    FIGURES["uploads wrongly aborted"] += len(server.deletes)
    assert server.deletes == []
    assert reply["dry_run"] is True and reply["summary"]["would_abort"] == 1
    scenario("user_event as an object with dry_run true: honoured, zero DELETEs")


USER_EVENT_OBJECTS: dict[str, tuple[dict[str, Any], int]] = {
    "excluded prefix": ({"buckets": [BUCKET], "exclude_prefixes": ["old"]}, 0),
    "max_aborts 0": ({"buckets": [BUCKET], "max_aborts": 0}, 0),
    "min_age beyond the upload": ({"buckets": [BUCKET], "min_age": "30d"}, 0),
    "prefix elsewhere": ({"buckets": [BUCKET], "prefixes": ["new/"]}, 0),
    "initiator elsewhere": ({"buckets": [BUCKET], "initiator": "someone-else"}, 0),
    "a real run": ({"buckets": [BUCKET], "dry_run": False, "min_age": "24h"}, 1),
}


@pytest.mark.parametrize("as_text", [False, True], ids=["object", "text"])
@pytest.mark.parametrize("name", sorted(USER_EVENT_OBJECTS))
def test_user_event_object_and_text_mean_the_same(name: str, as_text: bool) -> None:
    settings, deletes = USER_EVENT_OBJECTS[name]
    context = hostile_context(SWEEP_BUCKETS=BUCKET, SWEEP_MIN_AGE="24h")  # defaults that would abort
    user_event: Any = json.dumps(settings) if as_text else settings
    reply, server = swept({"trigger_type": "TIMER", "user_event": user_event}, context)
    assert len(server.deletes) == deletes, reply
    assert "summary" in reply


def test_a_user_event_object_naming_another_bucket_is_refused() -> None:
    reply, server = swept({"trigger_type": "TIMER", "user_event": {"buckets": ["other-bucket"]}},
                          hostile_context(SWEEP_BUCKETS=BUCKET))
    refused(reply, 403, "BucketNotAllowed", "other-bucket")
    assert server.sent == []


UNREADABLE_USER_EVENTS: dict[str, Any] = {
    "a list": [BUCKET], "a number": 5, "a float": 1.5, "true": True, "false": False,
    "bad JSON text": "{", "JSON text of a list": "[1, 2]", "JSON text of null": "null",
    "JSON text of a string": '"buckets"', "deep JSON text": "[" * 200_000,
    "deep object": {"buckets": [BUCKET], "prefixes": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]},
    "a typo'd key": {"buckets": [BUCKET], "dryrun": True},
    "dry_run as text": {"buckets": [BUCKET], "dry_run": "true"},
    "dry_run as 1": {"buckets": [BUCKET], "dry_run": 1},
    "buckets as text": {"buckets": BUCKET},
    "min_age as a number": {"buckets": [BUCKET], "min_age": 86400},
    "min_age 1000000d": {"buckets": [BUCKET], "min_age": "1000000d"},
    "min_age with ten digits": {"buckets": [BUCKET], "min_age": "9999999999d"},
    "min_age negative": {"buckets": [BUCKET], "min_age": "-1h"},
    "min_age in exponent": {"buckets": [BUCKET], "min_age": "1e9h"},
    "min_age empty": {"buckets": [BUCKET], "min_age": ""},
    "a bad mode": {"buckets": [BUCKET], "mode": "turbo"},
}
# The field each refusal must name.
NAMED = {"a typo'd key": "dryrun", "dry_run as text": "dry_run", "dry_run as 1": "dry_run",
         "buckets as text": "buckets", "a bad mode": "mode"}


@pytest.mark.parametrize("name", sorted(UNREADABLE_USER_EVENTS))
def test_an_unreadable_user_event_is_a_400_naming_it(name: str) -> None:
    event = {"trigger_type": "TIMER", "user_event": UNREADABLE_USER_EVENTS[name]}
    reply, server = swept(event, hostile_context(SWEEP_BUCKETS=BUCKET))
    field = NAMED.get(name, "min_age" if name.startswith("min_age") else "user_event")
    refused(reply, 400, "InvalidEvent", field)
    assert server.sent == []
    scenario("unreadable user_event: 400 naming the field, nothing sent")


COUNTS = ("concurrency", "max_aborts", "max_consecutive_failures", "max_in_flight")


@pytest.mark.parametrize("value", [True, False, 1.0, "16", [1]], ids=repr)
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("carrier", ["user_event text", "user_event object", "continuation",
                                     "fanout chain"])
def test_booleans_and_lookalikes_are_not_counts(carrier: str, count: str, value: Any) -> None:
    settings = {"buckets": [BUCKET], "min_age": "24h", count: value}
    if carrier == "user_event text":
        event: Any = {"trigger_type": "TIMER", "user_event": json.dumps(settings)}
    elif carrier == "user_event object":
        event = {"trigger_type": "TIMER", "user_event": settings}
    elif carrier == "continuation":
        event = {"continuation": {"bucket": BUCKET, "prefix": "", "settings": settings}}
    else:
        event = {"fanout": {"run_id": "r1", "chain": 0, "seq": 0,
                            "tasks": [{"bucket": BUCKET}], "settings": settings}}
    reply, server = swept(event)
    refused(reply, 400, "InvalidEvent", count)
    assert server.sent == []


@pytest.mark.parametrize("field", ["chain", "seq"])
@pytest.mark.parametrize("value", [True, 1.0, "0"], ids=repr)
def test_booleans_are_not_chain_positions(field: str, value: Any) -> None:
    chain: dict[str, Any] = {"run_id": "r1", "chain": 0, "seq": 0, "tasks": [{"bucket": BUCKET}],
                             "settings": {"buckets": [BUCKET]}}
    chain[field] = value
    reply, server = swept({"fanout": chain})
    refused(reply, 400, "InvalidEvent", field)
    assert server.sent == []


# -- a bad environment value is the configuration's fault --------------------------------------

BAD_ENVIRONMENT = {
    "SWEEP_CONCURRENCY": ["abc", "100", "0", "1.5", "-1", "true"],
    "SWEEP_DRY_RUN": ["maybe", "2", "y", "enabled", "t"],
    "SWEEP_CHECK_ACTIVITY": ["maybe", "nope"],
    "SWEEP_VERIFY_ABORTS": ["sure"],
    "SWEEP_MAX_ABORTS": ["true", "-5", "many"],
    "SWEEP_MAX_CONSECUTIVE_FAILURES": ["0", "x"],
    "SWEEP_MIN_AGE": ["30m", "abc", "1000000d", "-1h"],
    "SWEEP_MODE": ["turbo"],
    "FANOUT_MAX_IN_FLIGHT": ["1000", "0", "x"],
    "SWEEP_MAX_CLOCK_SKEW": ["abc", "-5m", "1000000d"],
    "SWEEP_MIN_AGE_FLOOR": ["abc", "-1h"],
    "OBS_PATH_STYLE": ["y", "Y", "enabled", "2", "tru"],
    "OBS_ENDPOINT": ["https://[::1", "ftp://obs.example", "https://", "https://h/path",
                     "https://user:pw@obs.example", "https://obs.example:99999", "obs example"],
    "OBS_MAX_RETRY_COUNT": ["-1", "11", "three", "1.5"],
    "OBS_TIMEOUT_S": ["nan", "inf", "0", "-1", "soon"],
    "OBS_SIGNATURE": ["v4"],
    "UPLOAD_ID_FORMAT": ["loose"],
    "SAFETY_MARGIN_MS": ["-1", "abc"],
    "BATCH_CONCURRENCY": ["0", "65", "x"],
    "OBJECT_EVENT_GRACE": ["abc", "-1h", "1000000d"],
    "OBJECT_EVENT_FORCE": ["perhaps"],
    "OBJECT_EVENT_KEY_ENCODING": ["base64"],
}
CASES = [(name, value) for name, values in BAD_ENVIRONMENT.items() for value in values]


@pytest.mark.parametrize("where", ["user data", "environment"])
@pytest.mark.parametrize("name, value", CASES, ids=[f"{n}={v}" for n, v in CASES])
def test_a_bad_environment_value_is_a_config_error_naming_it(
        name: str, value: str, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    context = hostile_context(SWEEP_BUCKETS=BUCKET)
    if where == "environment":
        context.user_data.pop(name, None)  # user data wins over the environment
        monkeypatch.setenv(name, value)
    else:
        context.user_data[name] = value
    reply, server = swept({"trigger_type": "TIMER", "user_event": ""}, context)
    refused(reply, 500, "ConfigError", name)
    assert server.sent == []


FLAG_WORDS = {"1": True, "true": True, "YES": True, "On": True,
              "0": False, "false": False, "No": False, "OFF": False}


@pytest.mark.parametrize("word, path_style", sorted(FLAG_WORDS.items()))
def test_obs_path_style_is_meaningful(word: str, path_style: bool) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.DELETE, ANY_URL, status=204)
        reply = run(ABORT, hostile_context(OBS_PATH_STYLE=word))
        url = mock.calls[0].request.url or ""
    assert reply["status"] == 204
    assert url.startswith(f"https://obs.cn-north-4.myhuaweicloud.com/{BUCKET}/k?") == path_style
    assert url.startswith(f"https://{BUCKET}.obs.") == (not path_style)


# -- the operator's age floor holds against every event ----------------------------------------

FLOOR = "48h"


def floor_events() -> dict[str, Any]:
    below = {"buckets": [BUCKET], "min_age": "24h"}
    forced = {"buckets": [BUCKET], "min_age": "1m", "force": True}
    return {
        "timer": timer(**below),
        "timer, force": timer(**forced),
        "timer, user_event object, force": {"trigger_type": "TIMER", "user_event": forced},
        "timer carrying a continuation": timer(continuation={
            "bucket": BUCKET, "prefix": "", "settings": forced}),
        "continuation": {"continuation": {"bucket": BUCKET, "prefix": "", "settings": below}},
        "continuation, force": {"continuation": {"bucket": BUCKET, "prefix": "",
                                                 "settings": forced}},
        "fanout chain": {"fanout": {"run_id": "r1", "chain": 0, "seq": 0,
                                    "tasks": [{"bucket": BUCKET}], "settings": below}},
        "fanout chain, force": {"fanout": {"run_id": "r2", "chain": 0, "seq": 0,
                                           "tasks": [{"bucket": BUCKET}], "settings": forced}},
        "fanout timer, force": timer(**forced, mode="fanout"),
    }


@pytest.mark.parametrize("where", ["user data", "environment"])
@pytest.mark.parametrize("name", sorted(floor_events()))
def test_no_event_lowers_sweep_min_age_floor(name: str, where: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    context = hostile_context()
    if where == "environment":
        monkeypatch.setenv("SWEEP_MIN_AGE_FLOOR", FLOOR)
    else:
        context.user_data["SWEEP_MIN_AGE_FLOOR"] = FLOOR
    reply, server = swept(floor_events()[name], context)
    FIGURES["uploads wrongly aborted"] += len(server.deletes)
    assert server.deletes == [] and server.sent == []
    refused(reply, 400, "InvalidEvent", "SWEEP_MIN_AGE_FLOOR")
    scenario(f"SWEEP_MIN_AGE_FLOOR={FLOOR} against timer, continuation and fan-out events, force included: refused")


@pytest.mark.parametrize("key", ["min_age_floor", "SWEEP_MIN_AGE_FLOOR", "floor"])
def test_an_event_cannot_carry_its_own_floor(key: str) -> None:
    reply, server = swept(timer(min_age="1m", force=True, **{key: "1s"}),
                          hostile_context(SWEEP_MIN_AGE_FLOOR=FLOOR))
    assert reply.get("status") == 400 and server.sent == []


def test_a_sweep_at_the_floor_runs() -> None:
    reply, server = swept(timer(min_age=FLOOR), hostile_context(SWEEP_MIN_AGE_FLOOR=FLOOR))
    assert reply["summary"]["aborted"] == 1 and len(server.deletes) == 1


@pytest.mark.parametrize("grace", ["1h", "5m"])
def test_an_object_event_grace_below_the_floor_is_a_config_error(grace: str) -> None:
    event = {"Records": [{"eventName": "ObjectCreated:Put", "eventTime": iso(now()),
                          "s3": {"bucket": {"name": BUCKET}, "object": {"key": "old.bin"}}}]}
    reply, server = swept(event, hostile_context(SWEEP_MIN_AGE_FLOOR=FLOOR,
                                                 OBJECT_EVENT_GRACE=grace,
                                                 OBJECT_EVENT_FORCE="true"))
    refused(reply, 500, "ConfigError", "OBJECT_EVENT_GRACE")
    assert server.sent == []
