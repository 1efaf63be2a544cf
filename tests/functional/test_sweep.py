"""Timer sweeps and object events against the in-memory stand-in, through `responses`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import (
    ENDPOINT,
    FakeContext,
    charge_per_request,
    invoke,
    load_event,
    timer,
    wire,
)
from tools.standin import FakeObs

HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)


def populate_mixed(state: FakeObs, bucket: str = "examplebucket") -> set[tuple[str, str]]:
    """A bucket whose listing spans three pages; returns the uploads that must go."""
    stale = set()
    for n in range(1200):
        kind = n % 6
        key = f"data/{n:05d}.bin"
        if kind == 0:
            upload = state.add_upload(bucket, key, age=3 * DAYS, part_ages=[3 * DAYS, 2 * DAYS])
            stale.add((upload.key, upload.upload_id))
        elif kind == 1:
            state.add_upload(bucket, key, age=2 * HOURS, part_ages=[HOURS])            # young
        elif kind == 2:
            state.add_upload(bucket, "keep/" + key, age=3 * DAYS)                      # excluded
        elif kind == 3:
            state.add_upload(bucket, key, age=3 * DAYS, initiator="someone-else")      # other initiator
        elif kind == 4:
            state.add_upload(bucket, key, age=3 * DAYS, part_ages=[3 * DAYS, 10 * timedelta(minutes=1)])  # active
        else:
            upload = state.add_upload(bucket, key, age=30 * HOURS)                      # stale, no parts
            stale.add((upload.key, upload.upload_id))
    return stale


SETTINGS = {"buckets": ["examplebucket"], "exclude_prefixes": ["keep/"], "min_age": "24h",
            "initiator": "domain/owner:user/uploader"}


def test_three_pages_abort_exactly_the_stale_inactive_included(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    stale = populate_mixed(state)
    before = state.remaining("examplebucket")
    reply = invoke(timer(**SETTINGS), context)
    summary = reply["summary"]
    assert summary["pages"] == 2  # 1,200 uploads at 1,000 per page
    assert summary["seen"] == 1200 and summary["selected"] == 600
    assert summary["aborted"] == 400 and summary["skipped_active"] == 200
    assert (summary["skipped_young"], summary["skipped_excluded"], summary["skipped_initiator"]) == (200, 200, 200)
    assert summary["failed"] == 0 and reply["continuation"] is None
    assert before - state.remaining("examplebucket") == stale
    assert all(count == 1 for count in state.aborts.values())
    assert summary["bytes_reclaimed"] == 200 * 2 * 5 * 1024 * 1024
    assert summary["per_bucket"]["examplebucket"]["aborted"] == 400


def test_ages_use_the_servers_clock(context: FakeContext, lenient_obs: Any) -> None:
    minutes = timedelta(minutes=1)
    state = FakeObs(server_offset=10 * minutes)  # OBS's clock runs ten minutes ahead of ours
    # Initiated 24 h 5 min ago by OBS's clock, i.e. 23 h 55 min ago by ours: stale on the
    # server's clock, which is within the 15-minute bound.
    old = state.add_upload("examplebucket", "a", age=24 * HOURS + 5 * minutes)
    state.add_upload("examplebucket", "b", age=24 * HOURS - 5 * minutes)
    wire(lenient_obs, state)
    reply = invoke(timer(buckets=["examplebucket"], min_age="24h"), context)
    assert state.aborts == {("examplebucket", "a", old.upload_id): 1}
    assert 590 <= reply["summary"]["clock_skew_s"] <= 610
    ages = {u["key"]: u["age_s"] for u in reply["uploads"]}
    assert 24 * 3600 + 295 <= ages["a"] <= 24 * 3600 + 305


@pytest.mark.parametrize("offset_h", [2, -2, 24 * 30, 24 * 365])
def test_a_server_clock_beyond_the_bound_aborts_nothing(context: FakeContext, lenient_obs: Any,
                                                         offset_h: int) -> None:
    state = FakeObs(server_offset=offset_h * HOURS)
    state.add_upload("examplebucket", "a", age=48 * HOURS + abs(offset_h) * HOURS)
    wire(lenient_obs, state)
    reply = invoke(timer(buckets=["examplebucket"], min_age="24h"), context)
    assert not state.aborts
    assert reply["summary"]["skipped_clock"] == 1 and reply["summary"]["aborted"] == 0
    assert "SWEEP_MAX_CLOCK_SKEW" in reply["errors"][0]["error"]
    dry = invoke(timer(buckets=["examplebucket"], min_age="24h", dry_run=True), context)
    assert dry["summary"]["would_abort"] == 1 and "SWEEP_MAX_CLOCK_SKEW" in dry["errors"][0]["error"]


def test_dry_run_sends_no_delete(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    stale = populate_mixed(state)
    reply = invoke(timer(**SETTINGS, dry_run=True), context)
    assert state.requests["DELETE"] == 0
    assert reply["dry_run"] is True and reply["summary"]["would_abort"] == len(stale)
    assert reply["summary"]["aborted"] == 0
    assert {u["outcome"] for u in reply["uploads"]} >= {"would_abort", "skipped_active", "skipped_young"}


def test_stuck_marker_gives_an_error_and_a_partial_report(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    for n in range(3):
        state.add_upload("examplebucket", f"k{n}", age=3 * DAYS)
    first_page = state.answer("GET", "https://examplebucket.obs.test/?uploads&max-uploads=1")

    def stuck(method: str, bucket: str, key: str | None, query: dict[str, str]) -> Any:
        # Every listing answers with the first page, truncated, markers never moving.
        if method == "GET" and "uploads" in query:
            status, headers, body = first_page
            return status, headers, body.replace("<IsTruncated>false", "<IsTruncated>true")
        return None

    state.fault = stuck
    reply = invoke(timer(buckets=["examplebucket"], min_age="24h"), context)
    assert reply["errors"] and "did not advance" in reply["errors"][0]["error"]
    assert reply["summary"]["aborted"] == 1 and reply["summary"]["pages"] == 1


def test_continuation_resumes_without_loss_or_double_aborts(context: FakeContext, stand_in: FakeObs,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    state = stand_in
    stale = populate_mixed(state)
    clock = charge_per_request(monkeypatch, state)  # a second of budget per request
    context.remaining_ms = 5_000 + 150 * 1000  # the 5 s margin plus ~150 requests
    settings = {**SETTINGS, "concurrency": 4}
    first = invoke(timer(**settings), context)
    assert first["continuation"] is not None
    aborted_first = first["summary"]["aborted"]
    assert 0 < aborted_first < len(stale)
    invocations = 1
    reply = first
    while reply["continuation"] is not None and invocations < 20:
        clock["now"] = 0.0
        reply = invoke({"continuation": reply["continuation"]}, context)
        invocations += 1
    assert reply["continuation"] is None and invocations > 2
    assert set(state.remaining("examplebucket")).isdisjoint(stale)
    assert {(k, u) for _, k, u in state.aborts} == stale
    assert all(count == 1 for count in state.aborts.values())


def test_continuation_carries_its_settings_and_refuses_foreign_buckets(context: FakeContext, obs: Any) -> None:
    event = load_event("continuation.json")
    event["continuation"]["settings"]["buckets"] = ["not-allowed-bucket"]
    event["continuation"]["bucket"] = "not-allowed-bucket"
    reply = invoke(event, context)
    assert (reply["status"], reply["errorCode"]) == (403, "BucketNotAllowed")
    assert len(obs.calls) == 0


@pytest.mark.parametrize(("settings", "problem"), [
    ({"buckets": ["examplebucket"], "min_age": "30m"}, "min_age below 1h"),
    ({"buckets": ["examplebucket"], "min_age": "soon"}, "not a duration"),
    ({"buckets": ["Bad_Bucket"]}, "buckets: must be 3-63"),
    ({"buckets": []}, "buckets"),
    ({"buckets": ["examplebucket"], "concurrency": 0}, "concurrency"),
    ({"buckets": ["examplebucket"], "surprise": 1}, "surprise"),
])
def test_invalid_sweep_settings_send_nothing(context: FakeContext, obs: Any, settings: dict[str, Any], problem: str) -> None:
    reply = invoke(timer(**settings), context)
    assert reply["errorCode"] == "InvalidEvent" and problem in reply["errorMessage"]
    assert len(obs.calls) == 0


def test_force_allows_a_short_min_age(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    state.add_upload("examplebucket", "k", age=40 * timedelta(minutes=1))
    reply = invoke(timer(buckets=["examplebucket"], min_age="30m", force=True), context)
    assert reply["summary"]["aborted"] == 1


def test_disallowed_timer_bucket_is_refused_before_any_request(context: FakeContext, obs: Any) -> None:
    reply = invoke(timer(buckets=["examplebucket", "private-data"]), context)
    assert (reply["status"], reply["errorCode"]) == (403, "BucketNotAllowed")
    assert len(obs.calls) == 0


def test_max_aborts_caps_the_run_and_continues(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    for n in range(10):
        state.add_upload("examplebucket", f"k{n:02d}", age=3 * DAYS)
    first = invoke(timer(buckets=["examplebucket"], max_aborts=4, concurrency=1), context)
    assert first["summary"]["aborted"] == 4 and first["continuation"] is not None
    second = invoke({"continuation": first["continuation"]}, context)
    assert second["summary"]["aborted"] == 4
    assert len(state.aborts) == 8 and all(c == 1 for c in state.aborts.values())


def test_sample_timer_event_is_a_dry_run(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    populate_mixed(state)
    reply = invoke(load_event("timer.json"), context)
    assert reply["dry_run"] is True and state.requests["DELETE"] == 0
    assert reply["summary"]["would_abort"] > 0


def test_report_detail_is_capped_but_failures_kept(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    for n in range(1500):
        state.add_upload("examplebucket", f"k{n:05d}", age=3 * DAYS)
    state.fault = lambda m, b, k, q: (500, {}, "<Error><Code>InternalError</Code></Error>") if k == "k01499" else None
    context.user_data["OBS_MAX_RETRY_COUNT"] = "0"
    reply = invoke(timer(buckets=["examplebucket"], check_activity=False), context)
    assert len(reply["uploads"]) == 1001 and reply["uploads_omitted"] == 499
    assert reply["uploads"][-1]["outcome"] == "failed" and reply["uploads"][-1]["key"] == "k01499"
    assert len(json.dumps(reply)) < 1_000_000


# -- object events ------------------------------------------------------------------


def object_event_state() -> tuple[FakeObs, set[str]]:
    state = FakeObs()
    key = "videos/2024/raw footage.mp4"
    old = state.add_upload("examplebucket", key, age=5 * HOURS, part_ages=[4 * HOURS])
    old_no_parts = state.add_upload("examplebucket", key, age=2 * HOURS)
    state.add_upload("examplebucket", key, age=20 * timedelta(minutes=1))              # young
    state.add_upload("examplebucket", key, age=5 * HOURS, part_ages=[timedelta(minutes=10)])  # active
    state.add_upload("examplebucket", key + "-other", age=5 * DAYS)                  # sibling key
    state.add_upload("examplebucket", "videos/2024/raw", age=5 * DAYS)              # a prefix of K
    return state, {old.upload_id, old_no_parts.upload_id}


def _event_at_now(name: str) -> dict[str, Any]:
    from datetime import datetime, timezone

    event = load_event(name)
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    for record in event.get("Records", []):
        record["eventTime"] = now
    if "data" in event:
        event["time"] = now
        event["data"]["eventTime"] = now
    return event


@pytest.mark.parametrize("name", ["obs-trigger-s3.json", "eventgrid-obs.json"])
def test_object_event_aborts_only_the_keys_old_inactive_uploads(name: str, context: FakeContext, lenient_obs: Any) -> None:
    state, expected = object_event_state()
    wire(lenient_obs, state)
    reply = invoke(_event_at_now(name), context)
    assert {u for (_, _, u) in state.aborts} == expected
    record = reply["records"][0]
    assert record["outcome"] == "cleaned" and record["key"] == "videos/2024/raw footage.mp4"
    assert record["summary"]["aborted"] == 2 and record["summary"]["skipped_active"] == 1


def test_object_event_reference_time_is_the_earliest_clock(context: FakeContext, stand_in: FakeObs) -> None:
    """The EventGrid sample's eventTime is 8 h after its CloudEvent time: the earlier wins."""
    from datetime import datetime, timezone

    state = stand_in
    key = "videos/2024/raw footage.mp4"
    state.add_upload("examplebucket", key, age=3 * HOURS)
    event = load_event("eventgrid-obs.json")
    now = datetime.now(timezone.utc)
    event["time"] = (now - 3 * HOURS).isoformat()           # when the object was really written
    event["data"]["eventTime"] = (now + 5 * HOURS).isoformat()  # local time labelled UTC
    reply = invoke(event, context)
    # Initiated 3 h ago = exactly when K was written: not older than K by the 1 h grace.
    assert state.aborts == {} and reply["records"][0]["summary"]["skipped_young"] == 1


def test_object_removed_never_aborts(context: FakeContext, obs: Any) -> None:
    reply = invoke(load_event("obs-trigger-removed.json"), context)
    assert reply["records"][0]["outcome"] == "ignored"
    assert len(obs.calls) == 0


def test_object_event_for_a_disallowed_bucket_is_refused(obs: Any) -> None:
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": "another-bucket"})
    reply = invoke(load_event("obs-trigger-obs.json"), context)
    assert (reply["status"], reply["errorCode"]) == (403, "BucketNotAllowed")
    assert len(obs.calls) == 0


def test_native_obs_record_key_is_url_decoded(context: FakeContext, stand_in: FakeObs) -> None:
    state = stand_in
    upload = state.add_upload("examplebucket", "backups/db+2024-01-02.tar", age=3 * HOURS)
    reply = invoke(_event_at_now("obs-trigger-obs.json"), context)
    assert reply["records"][0]["key"] == "backups/db+2024-01-02.tar"
    assert state.aborts == {("examplebucket", "backups/db+2024-01-02.tar", upload.upload_id): 1}


@pytest.mark.parametrize(("encoding", "sent", "meant"), [
    ("url", "backups%2Fdb%2B2024.tar", "backups/db+2024.tar"),
    ("url", "raw+footage.mp4", "raw footage.mp4"),
    ("none", "a+b.bin", "a+b.bin"),           # EventGrid without Key_encode: keys as written
    ("none", "100%25.bin", "100%25.bin"),
])
def test_object_event_keys_decode_as_the_trigger_encodes_them(
        context: FakeContext, lenient_obs: Any, encoding: str, sent: str, meant: str) -> None:
    state = FakeObs()
    upload = state.add_upload("examplebucket", meant, age=3 * HOURS)
    from urllib.parse import unquote_plus

    wrong = sent if encoding == "url" else unquote_plus(sent)  # what the other rule would read
    state.add_upload("examplebucket", wrong, age=3 * HOURS)  # never touched
    wire(lenient_obs, state)
    context.user_data["OBJECT_EVENT_KEY_ENCODING"] = encoding
    event = _event_at_now("eventgrid-obs.json")
    event["data"]["obs"]["object"]["key"] = sent
    reply = invoke(event, context)
    assert reply["records"][0]["key"] == meant
    assert state.aborts == {("examplebucket", meant, upload.upload_id): 1}


def test_default_sweep_makes_two_requests_per_upload(context: FakeContext, lenient_obs: Any) -> None:
    """ListParts and DELETE per selected upload; listings per page (select, confirm)."""
    state = FakeObs()
    stale = {(u.key, u.upload_id) for u in
             (state.add_upload("examplebucket", f"k/{n:04d}", age=3 * DAYS) for n in range(1500))}
    wire(lenient_obs, state)
    reply = invoke(timer(buckets=["examplebucket"], min_age="24h"), context)
    requests = reply["summary"]["requests"]
    assert {(k, u) for _, k, u in state.aborts} == stale and reply["summary"]["aborted"] == 1500
    assert requests["abort"] == 1500 and requests["list_parts"] == 1500
    assert requests["list"] == 2 and requests["verify_list"] <= 2 * requests["list"]
    assert len(lenient_obs.calls) == sum(requests.values())
    assert all(u.get("verified") is True for u in reply["uploads"])


def test_an_abort_answered_but_not_done_is_repeated_then_failed(context: FakeContext,
                                                                lenient_obs: Any) -> None:
    state = FakeObs()
    kept = state.add_upload("examplebucket", "sticky.bin", age=3 * DAYS)
    gone = state.add_upload("examplebucket", "fine.bin", age=3 * DAYS)
    original = state.answer_normally

    def sticky(method: str, bucket: str, key: str | None, query: dict[str, str]) -> Any:
        if method == "DELETE" and key == "sticky.bin":
            return 204, {}, ""  # says done, keeps the upload
        return original(method, bucket, key, query)

    state.fault = sticky
    wire(lenient_obs, state)
    reply = invoke(timer(buckets=["examplebucket"], min_age="24h"), context)
    outcomes = {u["key"]: (u["outcome"], u.get("errorCode"), u.get("verified")) for u in reply["uploads"]}
    assert outcomes == {"sticky.bin": ("failed", "StillListed", False), "fine.bin": ("aborted", None, True)}
    assert reply["summary"]["requests"]["abort"] == 3  # fine once, sticky twice
    assert (kept.key, kept.upload_id) in {(k, u) for k, u in state.remaining("examplebucket")}
    assert gone.upload_id not in {u for _, u in state.remaining("examplebucket")}
