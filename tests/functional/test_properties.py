"""Property: for any JSON value as the event, the handler returns a dict and sends a
request only for items that validated and whose bucket is allowed."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ENDPOINT, FakeContext, invoke
from tests.support.abandonment_model import AbandonedUploadModel

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
near_valid_upload = st.fixed_dictionaries(
    {
        "bucket": st.sampled_from(["examplebucket", "other-bucket", "Bad_Name", "a..b", "127.0.0.1", "evil.com/x"]),
        "objectKey": st.one_of(st.text(max_size=30), st.sampled_from(["../x", "?uploadId=y", "#frag", "%2F", "a\r\nb"])),
        "uploadId": st.one_of(st.from_regex(r"[A-Za-z0-9]{32}", fullmatch=True), st.text(max_size=40)),
    },
    optional={"extensionHeaders": st.dictionaries(st.sampled_from(["x-obs-a", "Host", "x-obs-date"]), st.text(max_size=8), max_size=2)},
)
events = st.one_of(
    json_values,
    near_valid_upload,
    st.fixed_dictionaries({"uploads": st.lists(st.one_of(near_valid_upload, json_values), max_size=6)}),
    st.fixed_dictionaries({"trigger_type": st.just("TIMER"), "user_event": st.text(max_size=30)}),
    st.fixed_dictionaries({"Records": st.lists(json_values, max_size=2)}),
)


def _allowed_valid(item: object) -> tuple[str, str, str] | None:
    try:
        upload = AbandonedUploadModel.model_validate(item, context={"relaxed_upload_id": False})
    except Exception:
        return None
    return (upload.bucket, upload.objectKey, upload.uploadId) if upload.bucket == "examplebucket" else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_any_json_event_gives_a_dict_and_requests_only_for_valid_items(event: object) -> None:
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": "examplebucket"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as obs:
        obs.add("DELETE", re.compile(r"https://examplebucket\.obs\.cn-north-4\.myhuaweicloud\.com/.*"), status=204)
        reply = invoke(event, context)
        calls = list(obs.calls)
    assert isinstance(reply, dict)
    json.dumps(reply)
    items = event.get("uploads") if isinstance(event, dict) and "uploads" in event else [event]
    valid = [v for v in (_allowed_valid(i) for i in (items if isinstance(items, list) else [])) if v]
    sent = []
    for call in calls:
        url = urlsplit(call.request.url)
        assert url.hostname == "examplebucket.obs.cn-north-4.myhuaweicloud.com"
        sent.append(("examplebucket", unquote(url.path[1:]), parse_qs(url.query)["uploadId"][0]))
    assert sorted(sent) == sorted(valid)
