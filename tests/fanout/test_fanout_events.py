"""Fan-out events one by one: planning, a chain shard, forged and repeated events."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.conftest import IAM_TOKEN_SENTINEL, FakeContext, invoke, load_event

if TYPE_CHECKING:
    import responses

    from tools.standin import FakeObs

ENDPOINT = "https://obs.cn-north-4.myhuaweicloud.com"
FG = "https://functiongraph.cn-north-4.myhuaweicloud.com"
PROJECT = "0123456789abcdef0123456789abcdef"
DISPATCH = f"{FG}/v2/{PROJECT}/fgs/functions/urn:fss:cn-north-4:{PROJECT}:function:default:janitor:latest/invocations-async"


class Context(FakeContext):
    """A context with the runtime's identity methods, so the URN is derived, not configured."""

    def getFunctionName(self) -> str:
        return "janitor"

    def getPackage(self) -> str:
        return "default"

    def getVersion(self) -> str:
        return "latest"


def context(**extra: str) -> Context:
    return Context(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": "examplebucket",
                              "OBS_REGION": "cn-north-4", "RUNTIME_PROJECT_ID": PROJECT, **extra})


def populate(state: FakeObs) -> FakeObs:
    for key in ("root.bin", "videos/a.mp4", "videos/deep/b.mp4", "logs/2026/11/app.log",
                "logs/2026/12/app.log", "keep/x.bin"):
        state.add_upload("examplebucket", key, age=timedelta(days=3))
    return state


def test_planning_lists_folders_and_dispatches_chains(lenient_obs: responses.RequestsMock, stand_in: FakeObs) -> None:
    state = populate(stand_in)
    sent: list[dict[str, Any]] = []

    def accept(request: Any) -> tuple[int, dict[str, str], str]:
        assert request.headers["X-Auth-Token"] == IAM_TOKEN_SENTINEL
        sent.append(json.loads(request.body))
        return 202, {}, json.dumps({"request_id": f"req-{len(sent)}"})

    lenient_obs.add_callback("POST", DISPATCH, callback=accept)
    reply = invoke(load_event("timer-fanout.json"), context())
    # The root, videos/ and logs/; keep/ is excluded at planning time.
    assert reply["tasks"] == 3 and reply["chains"] == 3 and reply["dispatched"] == ["req-1", "req-2", "req-3"]
    tasks = [t for event in sent for t in event["fanout"]["tasks"]]
    assert {(t.get("prefix", ""), t.get("delimiter")) for t in tasks} == {("", "/"), ("videos/", None), ("logs/", None)}
    assert {e["fanout"]["run_id"] for e in sent} == {reply["run_id"]}
    assert state.requests["DELETE"] == 0
    assert IAM_TOKEN_SENTINEL not in json.dumps(reply)


def test_configured_shards_need_no_listing(obs: responses.RequestsMock) -> None:
    obs.add("POST", DISPATCH, status=202, json={"requestId": "camel"})
    event = load_event("timer-fanout.json")
    event["user_event"] = json.dumps({"buckets": ["examplebucket"], "mode": "fanout",
                                      "shards": ["a/", "b/", "c/"], "max_in_flight": 2})
    reply = invoke(event, context())
    assert reply["tasks"] == 3 and reply["chains"] == 2 and reply["dispatched"] == ["camel", "camel"]


def test_a_chain_shard_sweeps_its_tasks(lenient_obs: responses.RequestsMock, stand_in: FakeObs) -> None:
    state = populate(stand_in)
    ctx = context()
    reply = invoke(load_event("fanout-chain.json"), ctx)
    assert reply["tasks_done"] == 3 and reply["tasks_left"] == 0 and reply["next"] is None
    # Dry run: the root shard sees root.bin only, videos/ two uploads, logs/ resumes after
    # logs/2026/11/app.log's marker (its uploadId sorts after the stand-in's).
    assert reply["summary"]["would_abort"] == 4 and state.requests["DELETE"] == 0
    shard_lines = [d for d in ctx.decisions() if d["action"] == "fanout_shard"]
    assert shard_lines and shard_lines[0]["run_id"] == "5f1c2a9e7b3d4c81"


def test_a_chain_short_of_time_hands_the_rest_on(lenient_obs: responses.RequestsMock, stand_in: FakeObs) -> None:
    state = populate(stand_in)
    handed: list[dict[str, Any]] = []
    lenient_obs.add_callback("POST", DISPATCH, callback=lambda r: (handed.append(json.loads(r.body)) or (202, {}, "{}")))
    ctx = context()
    ctx.remaining_ms = 4000  # under the 5 s margin: no sweeping, only the hand-over
    reply = invoke(load_event("fanout-chain.json"), ctx)
    assert reply["tasks_left"] == 3 and state.requests["GET"] == 0
    assert handed[0]["fanout"]["seq"] == 1 and len(handed[0]["fanout"]["tasks"]) == 3


def test_a_repeated_delivery_is_skipped(lenient_obs: responses.RequestsMock, stand_in: FakeObs) -> None:
    state = populate(stand_in)
    event = load_event("fanout-chain.json")
    event["fanout"]["run_id"] = "repeat-run"
    first = invoke(event, context())
    requests_after_first = sum(state.requests.values())
    second = invoke(event, context())
    assert "summary" in first and second == {"run_id": "repeat-run", "chain": 0, "seq": 0, "duplicate": True}
    assert sum(state.requests.values()) == requests_after_first


def test_a_forged_chain_for_another_bucket_is_refused(obs: responses.RequestsMock) -> None:
    event = load_event("fanout-chain.json")
    event["fanout"]["tasks"] = [{"bucket": "someone-elses", "prefix": ""}]
    reply = invoke(event, context())
    assert (reply["status"], reply["errorCode"]) == (403, "BucketNotAllowed")
    assert len(obs.calls) == 0


@pytest.mark.parametrize("broken", [{"run_id": ""}, {"tasks": []}, {"seq": -1}, {"surprise": 1}])
def test_malformed_chain_events_are_invalid(obs: responses.RequestsMock, broken: dict[str, Any]) -> None:
    event = load_event("fanout-chain.json")
    event["fanout"].update(broken)
    reply = invoke(event, context())
    assert reply["errorCode"] == "InvalidEvent" and len(obs.calls) == 0


def test_without_an_identity_fanout_is_a_config_error(obs: responses.RequestsMock) -> None:
    plain = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": "examplebucket"})
    reply = invoke(load_event("timer-fanout.json"), plain)
    assert reply["errorCode"] == "ConfigError" and "FANOUT_FUNCTION_URN" in reply["errorMessage"]


def test_a_failed_dispatch_is_reported_not_lost(lenient_obs: responses.RequestsMock, stand_in: FakeObs, monkeypatch: pytest.MonkeyPatch) -> None:
    import handler.fanout.fgs

    monkeypatch.setattr(handler.fanout.fgs.time, "sleep", lambda s: None)
    populate(stand_in)
    lenient_obs.add("POST", DISPATCH, body=requests.ConnectionError("unreachable"))
    reply = invoke(load_event("timer-fanout.json"), context())
    assert reply["chains"] == 0 and len(reply["undispatched"]) == 3
    assert all("asynchronous invocation failed" in e for e in reply["errors"])


@pytest.mark.parametrize(("code", "attempts"), [("FSS.0429", 1), ("FSS.1429", 5)])
def test_a_disabled_function_is_not_retried(lenient_obs: responses.RequestsMock, stand_in: FakeObs,
                                            monkeypatch: pytest.MonkeyPatch, code: str, attempts: int) -> None:
    """429 FSS.0429 means "function disabled": retrying cannot help; other 429s are throttling."""
    import handler.fanout.fgs

    monkeypatch.setattr(handler.fanout.fgs.time, "sleep", lambda s: None)
    populate(stand_in)
    lenient_obs.add("POST", DISPATCH, status=429, json={"error_code": code, "error_msg": "x"})
    event = load_event("timer-fanout.json")
    event["user_event"] = json.dumps({**json.loads(event["user_event"]), "shards": ["a/"],
                                      "max_in_flight": 1})
    reply = invoke(event, context())
    posts = [c for c in lenient_obs.calls if c.request.method == "POST"]
    assert len(posts) == attempts and reply["chains"] == 0 and len(reply["undispatched"]) == 1
