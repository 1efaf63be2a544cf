"""Sweeps through faulty listings and aborts: nothing wrongly aborted, nothing lost."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from tests.conftest import invoke, timer
from tests.reliability.metrics import FIGURES, scenario
from tests.reliability.support import context
from tools.standin import FakeObs, serve

BUCKET = "reliable"
DAYS = timedelta(days=1)


def stale_and_young(state: FakeObs, stale: int, young: int) -> set[tuple[str, str]]:
    chosen = set()
    for n in range(stale + young):
        age = 3 * DAYS if n < stale else timedelta(hours=1)
        upload = state.add_upload(BUCKET, f"f/{n:05d}", age=age, part_ages=[age])
        if n < stale:
            chosen.add((upload.key, upload.upload_id))
    return chosen


def account(state: FakeObs, stale: set[tuple[str, str]], reply: dict[str, Any]) -> None:
    """Every stale upload aborted, reported failed or left for the continuation; and no
    young upload touched. Adds what it finds to the report's must-be-zero figures."""
    aborted = {(k, u) for (_, k, u) in state.aborts}
    FIGURES["uploads wrongly aborted"] += len(aborted - stale)
    failed = {(e["key"], e["uploadId"]) for e in reply.get("uploads", []) if e["outcome"] == "failed"}
    continuation = reply.get("continuation")
    resume_after = (continuation["key_marker"] or "", continuation["upload_id_marker"] or "") if continuation else None
    lost = {s for s in stale - aborted - failed if resume_after is None or s <= resume_after}
    FIGURES["selected uploads lost"] += len(lost)
    crashed = reply.get("errorCode") == "InternalError" and "summary" not in reply
    FIGURES["unhandled exceptions"] += int(crashed)
    assert not aborted - stale and not lost and not crashed


def test_truncated_xml_listing_stops_that_listing_and_aborts_nothing() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 5, 2)
    state.fault = lambda m, b, k, q: (200, {"Content-Type": "application/xml"},
                                      "<ListMultipartUploadsResult><Upload><Key>f/0") if "uploads" in q else None
    with serve(state) as server:
        reply = invoke(timer(buckets=[BUCKET]), context(server.endpoint, BUCKET))
    assert reply["errors"] and state.requests["DELETE"] == 0
    account(state, stale, {**reply, "continuation": {"key_marker": "", "upload_id_marker": ""}})
    scenario("listing answers truncated XML: an error in the report, no abort", state.faults_injected)


def test_truncated_listing_without_markers() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 3, 1)

    def no_markers(m: str, b: str, k: str | None, q: dict[str, str]) -> Any:
        if "uploads" not in q:
            return None
        status, headers, body = state.answer_normally(m, b, k, q)
        return status, headers, body.replace("<IsTruncated>false", "<IsTruncated>true")

    state.fault = no_markers
    with serve(state) as server:
        reply = invoke(timer(buckets=[BUCKET]), context(server.endpoint, BUCKET))
    assert any("did not advance" in e["error"] for e in reply["errors"])
    assert reply["summary"]["pages"] == 1 and reply["summary"]["aborted"] == 3
    account(state, stale, reply)
    scenario("IsTruncated=true without markers: stops with an error, no loop", state.faults_injected)


def test_markers_that_do_not_advance() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 4, 0)
    first = state.answer("GET", f"http://127.0.0.1/{BUCKET}?uploads&max-uploads=2&encoding-type=url")

    def stuck(m: str, b: str, k: str | None, q: dict[str, str]) -> Any:
        return first if "uploads" in q else None

    state.fault = stuck
    with serve(state) as server:
        reply = invoke(timer(buckets=[BUCKET]), context(server.endpoint, BUCKET))
    assert any("did not advance" in e["error"] for e in reply["errors"])
    assert reply["summary"]["pages"] == 1 and state.aborts.total() <= 2
    account(state, stale, {**reply, "continuation": {"key_marker": "f/00001", "upload_id_marker": "~"}})
    scenario("markers never advance: error after one page, nothing repeated", state.faults_injected)


def test_abort_answering_204_while_still_listed_is_repeated_and_reported() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 3, 0)
    ids = sorted(u for _, u in stale)
    state.ghost_aborts[ids[0]] = 1   # one ghost answer: the repeat takes
    state.ghost_aborts[ids[1]] = 10  # never takes
    with serve(state) as server:
        reply = invoke(timer(buckets=[BUCKET], concurrency=1), context(server.endpoint, BUCKET))
    by_id = {e["uploadId"]: e for e in reply["uploads"]}
    assert by_id[ids[0]]["outcome"] == "aborted" and by_id[ids[0]]["verified"] is True
    assert by_id[ids[1]]["outcome"] == "failed" and by_id[ids[1]]["errorCode"] == "StillListed"
    assert by_id[ids[2]]["verified"] is True
    assert state.aborts[(BUCKET, by_id[ids[0]]["key"], ids[0])] == 2
    account(state, stale, reply)
    scenario("abort says 204 but the upload stays listed: verified, repeated, reported",
             state.faults_injected)


def test_abort_racing_a_completion_is_already_gone() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 2, 0)
    raced = sorted(stale)[0]

    def complete_first(m: str, b: str, k: str | None, q: dict[str, str]) -> Any:
        if m == "DELETE" and (k, q.get("uploadId")) == raced:
            with state.lock:  # the uploader completes it a moment before our abort lands
                state.buckets[BUCKET].pop(raced, None)
                state._sorted[BUCKET].remove(raced)
            return state.answer_normally(m, b, k, q)
        return None

    state.fault = complete_first
    with serve(state) as server:
        reply = invoke(timer(buckets=[BUCKET]), context(server.endpoint, BUCKET))
    assert reply["summary"]["already_gone"] == 1 and reply["summary"]["aborted"] == 1
    assert reply["summary"]["failed"] == 0
    scenario("abort races a completion: NoSuchUpload counted already_gone", state.faults_injected)


def test_circuit_breaker_stops_cleanly_and_carries_the_rest() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 40, 0)
    state.fault = lambda m, b, k, q: (500, {}, "<Error><Code>InternalError</Code></Error>") if m == "DELETE" else None
    with serve(state) as server:
        ctx = context(server.endpoint, BUCKET, OBS_MAX_RETRY_COUNT="0")
        reply = invoke(timer(buckets=[BUCKET], concurrency=1, max_consecutive_failures=5), ctx)
    assert reply["summary"]["failed"] == 5 and reply["continuation"] is not None
    assert any("circuit breaker" in e["error"] for e in reply["errors"])
    assert state.requests["DELETE"] == 5
    account(state, stale, reply)
    scenario("every abort fails: circuit opens after 5, the rest carried in the continuation",
             state.faults_injected)


def test_flaky_listing_resumes_where_it_broke() -> None:
    state = FakeObs()
    stale = stale_and_young(state, 2500, 0)
    pages = count()

    def flaky(m: str, b: str, k: str | None, q: dict[str, str]) -> Any:
        # The second listing request fails hard, every retry of it too.
        if "uploads" in q and q.get("key-marker") and next(pages) < 99:
            return "reset-after-read"
        return None

    state.fault = flaky
    with serve(state) as server:
        ctx = context(server.endpoint, BUCKET, OBS_MAX_RETRY_COUNT="1")
        first = invoke(timer(buckets=[BUCKET], check_activity=False, verify_aborts=False), ctx)
        assert first["continuation"] is not None and first["summary"]["aborted"] == 1000
        state.fault = lambda *a: None
        second = invoke({"continuation": first["continuation"]}, ctx)
    assert second["continuation"] is None and second["summary"]["aborted"] == 1500
    assert all(c == 1 for c in state.aborts.values()) and not state.remaining(BUCKET)
    account(state, stale, second)
    scenario("listing unreachable mid-sweep: continuation from the last good page, resumed",
             state.faults_injected)
