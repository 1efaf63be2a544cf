"""Hostile input: generated events never crash the handler, never send a request for
invalid input, never reach anything but the configured endpoint, and send the key encoded."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.events.abandonment import AbandonedUpload
from tests.conftest import ENDPOINT, FakeContext, invoke
from tests.reliability.metrics import FIGURES, FUZZ_EXAMPLES, scenario

ALLOWED = "examplebucket"
HOST = f"{ALLOWED}.obs.cn-north-4.myhuaweicloud.com"
VALID_ID = "000001648453845DBB78F2340DD460AB"

hostile_buckets = st.sampled_from([
    ALLOWED, "evil.com/x", "a..b", "127.0.0.1", "bucket@host", "examplebucket.evil.com",
    "EXAMPLEBUCKET", "examplebucket:443", "-examplebucket", "examplebucket/../other", "",
    "x" * 64, "exa mple", "examplebucket\n", "other-bucket",
])
hostile_keys = st.one_of(
    st.sampled_from(["../x", "?uploadId=y", "#frag", "%2F", "a\r\nHost: evil", "..", ".",
                     "/", "//", "a/./b", "\x00", "k" * 1025, "", "~", "%00", "\u202e", "😀/../😀"]),
    st.text(max_size=64),
)
hostile_ids = st.one_of(st.just(VALID_ID), st.sampled_from(
    ["", "x", VALID_ID + "&uploadId=other", VALID_ID[:31], "../" + VALID_ID[3:], VALID_ID + "\r\n"]),
    st.text(max_size=40))
upload = st.fixed_dictionaries(
    {"bucket": hostile_buckets, "objectKey": hostile_keys, "uploadId": hostile_ids},
    optional={"extensionHeaders": st.dictionaries(
        st.sampled_from(["x-obs-a", "Host", "x-obs-date", "Authorization", "x-obs-security-token", "X-OBS-B"]),
        st.text(max_size=12), max_size=3),
        "reason": st.text(max_size=30)},
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
events = st.one_of(
    upload, json_values,
    st.fixed_dictionaries({"uploads": st.lists(st.one_of(upload, json_values), max_size=5)}),
    st.builds(lambda u: {"httpMethod": "POST", "requestContext": {}, "body": json.dumps(u)}, upload),
    st.builds(lambda u: {"record": [{"event_source": "smn", "smn": {"message": json.dumps(u)}}]}, upload),
    st.builds(lambda u: {"specversion": "1.0", "data": u}, upload),
    st.fixed_dictionaries({"trigger_type": st.just("TIMER"), "user_event": st.one_of(
        st.text(max_size=40), st.builds(json.dumps, st.dictionaries(st.sampled_from(
            ["buckets", "min_age", "force", "prefixes", "concurrency"]), json_values, max_size=4)))}),
    st.fixed_dictionaries({"Records": st.lists(st.fixed_dictionaries({"s3": st.fixed_dictionaries({
        "bucket": st.fixed_dictionaries({"name": hostile_buckets}),
        "object": st.fixed_dictionaries({"key": hostile_keys})}),
        "eventName": st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete", ""])}), max_size=2)}),
    st.fixed_dictionaries({"continuation": json_values}),
)


def _items(event: Any) -> list[Any]:
    if isinstance(event, dict) and "httpMethod" in event:
        return [json.loads(event["body"])]
    if isinstance(event, dict) and "record" in event:
        return [json.loads(event["record"][0]["smn"]["message"])]
    if isinstance(event, dict) and "specversion" in event:
        return [event["data"]]
    if isinstance(event, dict) and isinstance(event.get("uploads"), list):
        return event["uploads"] if 1 <= len(event["uploads"]) <= 1000 else []
    return [event]


def _acceptable(item: Any) -> AbandonedUpload | None:
    try:
        parsed = AbandonedUpload.model_validate(item, context={"relaxed_upload_id": False})
    except Exception:
        return None
    return parsed if parsed.bucket == ALLOWED else None


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(event=events)
def test_hostile_events(event: Any) -> None:
    FIGURES["events fuzzed"] += 1
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": ALLOWED,
                                     "OBS_MAX_RETRY_COUNT": "0"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as obs:
        import re

        obs.add("DELETE", re.compile(r".*"), status=204)
        obs.add("GET", re.compile(r".*"), status=200, body="<ListMultipartUploadsResult>"
                "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
                headers={"Date": "Fri, 27 Nov 2026 00:00:00 GMT"})
        reply = invoke(event, context)
        calls = list(obs.calls)
    if not isinstance(reply, dict) or reply.get("errorCode") == "InternalError":
        FIGURES["unhandled exceptions"] += 1
    assert isinstance(reply, dict) and reply.get("errorCode") != "InternalError"
    expected = [u for u in map(_acceptable, _items(event)) if u is not None]
    deletes = [c for c in calls if c.request.method == "DELETE"]
    for call in calls:
        assert urlsplit(call.request.url).hostname == HOST
    if not expected and deletes:
        FIGURES["requests sent for invalid input"] += len(deletes)
    assert len(deletes) == len(expected)
    # A batch runs concurrently: compare as sorted lists, not in call order.
    sent = []
    for call in deletes:
        path, _, query = call.request.path_url.partition("?")
        sent.append((path, parse_qs(query, keep_blank_values=True)["uploadId"]))
    wanted = [("/" + quote(item.objectKey, safe="/~"), [item.uploadId]) for item in expected]
    assert sorted(sent) == sorted(wanted)


def test_record_the_fuzzing_scenario() -> None:
    scenario(f"hostile events: {FUZZ_EXAMPLES:,} generated (arbitrary JSON, near-valid, wrapped, "
             "host-changing buckets, traversal and CR/LF keys)")
