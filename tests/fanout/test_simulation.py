"""Fan-out under a simulated FunctionGraph: asynchronous invocations run from a queue, each
with a time limit, against a stand-in bucket of uploads spread over 50 folders.

`make simulate` runs it at 200,000 uploads; `make test` at 20,000."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.conftest import FakeContext, invoke, load_event
from tools.standin import FakeObs, FakeUpload

if TYPE_CHECKING:
    import responses

UPLOADS = int(os.environ.get("SIM_UPLOADS", "20000"))
BUCKET = "fanout-bucket"
ENDPOINT = "https://obs.cn-north-4.myhuaweicloud.com"
FG = "https://functiongraph.cn-north-4.myhuaweicloud.com"
URN = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:obs-mpu-janitor:latest"
MAX_IN_FLIGHT = 8


def populate(state: FakeObs, count: int) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """50 folders plus a few root-level keys: half stale, a quarter young, a quarter stale
    but with a fresh part. Returns (must go, must stay)."""
    now = state.now()
    stale, keep, uploads = set(), set(), []
    for n in range(count):
        folder = f"folder-{n % 50:02d}/" if n % 500 else ""
        key, uid = f"{folder}obj-{n:07d}.bin", f"{n:032X}"
        kind = n % 4
        started = now - (timedelta(hours=2) if kind == 1 else timedelta(days=3))
        part = now - (timedelta(minutes=10) if kind == 2 else timedelta(days=2))
        uploads.append(FakeUpload(key, uid, started, parts=[(1, part, 1024)]))
        (keep if kind in (1, 2) else stale).add((key, uid))
    state.bulk_add(BUCKET, uploads)
    return stale, keep


@dataclass
class Platform:
    """FunctionGraph's asynchronous side, in process: a queue of invocations run one at a
    time, each under a time limit (3 s, 2 of them the safety margin left for hand-over, so
    about a second of sweeping per invocation). Optional misbehaviour: duplicate deliveries, and dispatch
    responses lost after the event was queued (the caller then retries)."""

    limit_ms: int
    user_data: dict[str, str]
    duplicate_rate: float = 0.0
    drop_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    queue: deque[dict[str, Any]] = field(default_factory=deque)
    invocations: int = 0
    max_in_flight: int = 0
    chain_seconds: Counter[tuple[str, int]] = field(default_factory=Counter)
    posts: int = 0
    queued: set[tuple[str, int, int]] = field(default_factory=set)
    duplicated: int = 0
    dropped: int = 0

    def post(self, request: Any) -> tuple[int, dict[str, str], str]:
        assert request.headers["X-Auth-Token"]
        assert request.url == f"{FG}/v2/0123456789abcdef0123456789abcdef/fgs/functions/{URN}/invocations-async"
        self.posts += 1
        event = json.loads(request.body)
        fan = event["fanout"]
        self.queued.add((fan["run_id"], fan["chain"], fan["seq"]))
        copies = 2 if self.rng.random() < self.duplicate_rate else 1
        self.duplicated += copies - 1
        self.queue.extend([event] * copies)
        self.max_in_flight = max(self.max_in_flight, len(self._in_flight()))
        if self.rng.random() < self.drop_rate:
            self.dropped += 1
            raise requests.ConnectionError("the response was lost")
        return 202, {"Content-Type": "application/json"}, json.dumps({"request_id": f"r{self.posts}"})

    def _in_flight(self) -> set[tuple[str, int]]:
        return {(e["fanout"]["run_id"], e["fanout"]["chain"]) for e in self.queue}

    def drain(self) -> None:
        while self.queue:
            event = self.queue.popleft()
            context = FakeContext(user_data=self.user_data, remaining_ms=self.limit_ms)
            started = time.monotonic()
            reply = invoke(event, context)
            seconds = time.monotonic() - started
            self.invocations += 1
            key = (event["fanout"]["run_id"], event["fanout"]["chain"])
            self.chain_seconds[key] += seconds
            assert "errorCode" not in reply, reply
            lost = reply.get("undispatched")
            if lost:  # the caller gave up; a shard is lost unless the platform had queued it
                fan = lost["fanout"]
                assert (fan["run_id"], fan["chain"], fan["seq"]) in self.queued, reply


def run(platform: Platform, obs: responses.RequestsMock) -> dict[str, Any]:
    obs.add_callback("POST", re.compile(re.escape(FG) + r"/.*"), callback=platform.post)
    timer = load_event("timer.json")
    timer["user_event"] = json.dumps({"buckets": [BUCKET], "mode": "fanout", "min_age": "24h",
                                      "max_in_flight": MAX_IN_FLIGHT, "concurrency": 8,
                                      "verify_aborts": False})
    started = time.monotonic()
    plan = invoke(timer, FakeContext(user_data=platform.user_data, remaining_ms=60_000))
    planning = time.monotonic() - started
    assert plan["mode"] == "fanout" and not plan["errors"], plan
    assert plan["tasks"] == 51  # 50 folders and the root-level uploads, nothing else
    platform.drain()
    wall = planning + max(platform.chain_seconds.values())
    print(f"\nfan-out of {UPLOADS:,} uploads: {platform.invocations} invocations "
          f"({platform.posts} dispatches, {platform.duplicated} duplicated, {platform.dropped} "
          f"responses dropped), simulated wall time {wall:.1f} s, most in flight "
          f"{platform.max_in_flight}")
    return plan


def user_data() -> dict[str, str]:
    return {"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": BUCKET, "FANOUT_FUNCTION_URN": URN,
            "FANOUT_REGION": "cn-north-4", "RUNTIME_PROJECT_ID": "0123456789abcdef0123456789abcdef",
            "SAFETY_MARGIN_MS": "2000", "OBS_MAX_RETRY_COUNT": "1"}


def check(state: FakeObs, stale: set[tuple[str, str]], keep: set[tuple[str, str]],
          platform: Platform) -> None:
    aborted = Counter({(k, u): n for (_, k, u), n in state.aborts.items()})
    assert set(aborted) == stale, "every stale inactive upload aborted, nothing else"
    assert all(n == 1 for n in aborted.values()), "each exactly once"
    assert state.remaining(BUCKET) == keep, "no young or active upload touched"
    assert platform.max_in_flight <= MAX_IN_FLIGHT
    assert platform.invocations > MAX_IN_FLIGHT, "the time limit forced re-invocations"


@pytest.mark.slow
def test_fan_out_sweeps_everything_once_within_the_bound(lenient_obs: responses.RequestsMock, stand_in: FakeObs) -> None:
    state = stand_in
    stale, keep = populate(state, UPLOADS)
    platform = Platform(limit_ms=3000, user_data=user_data())
    run(platform, lenient_obs)
    check(state, stale, keep, platform)


@pytest.mark.slow
def test_duplicates_and_lost_dispatch_responses_do_no_harm(lenient_obs: responses.RequestsMock, stand_in: FakeObs) -> None:
    state = stand_in
    stale, keep = populate(state, UPLOADS)
    platform = Platform(limit_ms=3000, user_data=user_data(), duplicate_rate=0.1, drop_rate=0.1)
    run(platform, lenient_obs)
    assert platform.duplicated and platform.dropped
    check(state, stale, keep, platform)
