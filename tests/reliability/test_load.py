"""Load: many aborts at concurrency 32 with 5 % of requests answered 503 SlowDown."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta
from typing import Any

from tests.conftest import invoke, load_event
from tests.reliability.metrics import FIGURES, LOAD_UPLOADS, scenario
from tests.reliability.support import context
from tools.standin import FakeObs, serve


def test_aborts_at_concurrency_32_with_5_percent_503s() -> None:
    state = FakeObs()
    stale = {(u.key, u.upload_id) for u in (
        state.add_upload("loaded", f"load/{n:06d}", age=timedelta(days=3)) for n in range(LOAD_UPLOADS))}
    rng = random.Random(7)
    lock = threading.Lock()

    def slowdown(method: str, bucket: str, key: str | None, query: dict[str, str]) -> Any:
        with lock:
            hit = rng.random() < 0.05
        return (503, {"Content-Type": "application/xml"}, "<Error><Code>SlowDown</Code></Error>") if hit else None

    state.fault = slowdown
    event = load_event("timer.json")
    event["user_event"] = json.dumps({"buckets": ["loaded"], "concurrency": 32,
                                      "check_activity": False, "verify_aborts": False})
    with serve(state) as server:
        ctx = context(server.endpoint, "loaded")
        ctx.remaining_ms = 900_000
        reply = invoke(event, ctx)
    aborted = {(k, u) for (_, k, u) in state.aborts}
    FIGURES["load aborts"] += len(aborted)
    FIGURES["uploads wrongly aborted"] += len(aborted - stale)
    FIGURES["selected uploads lost"] += len(stale - aborted)
    assert reply["summary"]["aborted"] == LOAD_UPLOADS and reply["summary"]["failed"] == 0
    assert aborted == stale and not state.remaining("loaded")
    # A retried DELETE reaches the stand-in only after a 503 that changed nothing.
    assert all(count == 1 for count in state.aborts.values())
    scenario(f"{LOAD_UPLOADS:,} aborts at concurrency 32, 5 % answered 503 SlowDown",
             state.faults_injected)
