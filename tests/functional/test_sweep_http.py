"""A 5,000-upload sweep at concurrency 16 over real HTTP against the local stand-in."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import FakeContext, invoke, load_event
from tools.standin import FakeObs, serve


@pytest.mark.slow
def test_five_thousand_uploads_at_concurrency_16() -> None:
    state = FakeObs()
    stale = set()
    for n in range(5000):
        age = timedelta(days=3) if n % 5 else timedelta(hours=2)
        upload = state.add_upload("examplebucket", f"batch/{n:05d}", age=age, part_ages=[age])
        if n % 5:
            stale.add((upload.key, upload.upload_id))
    with serve(state) as server:
        context = FakeContext(user_data={
            "OBS_ENDPOINT": server.endpoint, "ALLOWED_BUCKETS": "examplebucket"}, remaining_ms=600_000)
        event = load_event("timer.json")
        event["user_event"] = json.dumps({"buckets": ["examplebucket"], "concurrency": 16})
        reply = invoke(event, context)
    summary = reply["summary"]
    assert summary["seen"] == 5000 and summary["pages"] == 5
    assert summary["aborted"] == len(stale) == 4000 and summary["skipped_young"] == 1000
    assert summary["failed"] == 0 and reply["continuation"] is None
    assert {(k, u) for _, k, u in state.aborts} == stale
    assert all(count == 1 for count in state.aborts.values())
    assert state.remaining("examplebucket").isdisjoint(stale)
