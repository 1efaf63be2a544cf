"""Every sample event through the real entry point, OBS mocked with `responses`."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import responses
from responses import matchers

from handler.obs.model import GET_RESULT_FIELDS
from tests.conftest import EVENTS, FakeContext, invoke, load_event

AUTH = matchers.header_matcher(
    {"Authorization": re.compile(r"^OBS AK-AGENCY:[A-Za-z0-9+/]{27}=$")}, strict_match=False
)


def abort_url(bucket: str, key: str) -> str:
    return f"https://{bucket}.obs.cn-north-4.myhuaweicloud.com/{quote(key, safe='/~')}"


def expect_abort(obs: responses.RequestsMock, upload: dict[str, Any], status: int = 204,
                 body: str = "", **headers: str) -> None:
    obs.add("DELETE", abort_url(upload["bucket"], upload["objectKey"]), status=status, body=body,
            headers=headers, match=[matchers.query_param_matcher({"uploadId": upload["uploadId"]}), AUTH])


def _canonical(item: dict[str, Any]) -> dict[str, Any]:
    return {"bucket": item.get("bucket") or item.get("bucketName"),
            "objectKey": item.get("objectKey") or item.get("key"),
            "uploadId": item.get("uploadId") or item.get("upload_id")}


# What each abandonment sample carries, unwrapped here independently of the handler.
def uploads_in(name: str) -> tuple[list[dict[str, Any]], bool]:
    event = load_event(name)
    if "httpMethod" in event:
        body = event["body"]
        event = json.loads(base64.b64decode(body) if event["isBase64Encoded"] else body)
    elif "record" in event:
        messages = [json.loads(r["smn"]["message"]) for r in event["record"]]
        return [_canonical(m) for m in messages], len(messages) == 1
    elif "specversion" in event:
        event = event["data"]
    if "uploads" in event:
        return [_canonical(u) for u in event["uploads"]], False
    return [_canonical(event)], True


ABANDONMENT_SAMPLES = ["abort.json", "abort-aliases.json", "abort-batch.json", "apig.json",
                       "apig-plain-batch.json", "smn.json", "smn-multi.json", "cloudevent-abort.json"]
INVALID_SAMPLES = sorted(p.name for p in EVENTS.glob("invalid-*.json"))


@pytest.mark.parametrize("name", ABANDONMENT_SAMPLES)
def test_abandonment_samples_abort_each_upload(name: str, context: FakeContext,
                                               obs: responses.RequestsMock) -> None:
    uploads, single = uploads_in(name)
    for upload in uploads:
        expect_abort(obs, upload, **{"x-obs-request-id": "RID-" + upload["uploadId"][-4:]})
    reply = invoke(load_event(name), context)
    if name.startswith("apig"):
        assert reply["statusCode"] == 200 and reply["isBase64Encoded"] is False
        reply = json.loads(reply["body"])
    if single:
        assert list(reply) == list(GET_RESULT_FIELDS)
        assert reply["status"] == 204 and reply["requestId"] == "RID-" + uploads[0]["uploadId"][-4:]
    else:
        assert [r["outcome"] for r in reply["results"]] == ["aborted"] * len(uploads)
        assert [r["uploadId"] for r in reply["results"]] == [u["uploadId"] for u in uploads]
        assert reply["summary"] == {"aborted": len(uploads), "already_gone": 0, "rejected": 0, "failed": 0}
    assert len(obs.calls) == len(uploads)
    assert [d["outcome"] for d in context.decisions()] == ["aborted"] * len(uploads)


@pytest.mark.parametrize("name", INVALID_SAMPLES)
def test_invalid_samples_are_refused_without_a_request(name: str, context: FakeContext,
                                                       obs: responses.RequestsMock) -> None:
    reply = invoke(load_event(name), context)
    assert reply["status"] == 400 and reply["errorCode"] == "InvalidEvent"
    assert reply["reason"] == "Bad Request" and reply["errorMessage"]
    assert {k for k, v in reply.items() if v is not None} == {"status", "reason", "errorCode", "errorMessage"}
    assert len(obs.calls) == 0


def test_invalid_message_names_each_bad_field(context: FakeContext, obs: responses.RequestsMock) -> None:
    reply = invoke(load_event("invalid-wrong-types.json"), context)
    for field in ("bucket", "objectKey", "uploadId"):
        assert f"{field}:" in reply["errorMessage"]
    assert "Accepted:" in invoke(load_event("invalid-unknown-shape.json"), context)["errorMessage"]


def test_header_injection_is_refused(context: FakeContext, obs: responses.RequestsMock) -> None:
    reply = invoke(load_event("invalid-header-injection.json"), context)
    assert "x-obs-security-token may not be set" in reply["errorMessage"]
    assert "stolen" not in json.dumps(reply)


def test_mixed_batch_reports_each_item_on_its_own(context: FakeContext, obs: responses.RequestsMock) -> None:
    good, gone, broken = (
        {"bucket": "examplebucket", "objectKey": f"k{n}", "uploadId": f"{n}" * 32} for n in (1, 2, 3)
    )
    expect_abort(obs, good)
    expect_abort(obs, gone, 404, "<Error><Code>NoSuchUpload</Code><RequestId>R2</RequestId></Error>")
    context.user_data["OBS_MAX_RETRY_COUNT"] = "0"
    expect_abort(obs, broken, 500, "<Error><Code>InternalError</Code></Error>")
    invalid = {"bucket": "examplebucket", "objectKey": "k4", "uploadId": "short"}
    disallowed = {"bucket": "someone-elses", "objectKey": "k5", "uploadId": "5" * 32}
    reply = invoke({"uploads": [good, invalid, disallowed, gone, broken]}, context)
    outcomes = [(r["objectKey"], r["outcome"], r["result"]["status"]) for r in reply["results"]]
    assert outcomes == [("k1", "aborted", 204), ("k4", "rejected", 400), ("k5", "rejected", 403),
                        ("k2", "already_gone", 404), ("k3", "failed", 500)]
    assert reply["results"][2]["result"]["errorCode"] == "BucketNotAllowed"
    assert reply["summary"] == {"aborted": 1, "already_gone": 1, "rejected": 2, "failed": 1}
    assert len(obs.calls) == 3


def test_unset_allow_list_refuses_every_bucket(obs: responses.RequestsMock) -> None:
    context = FakeContext(user_data={"OBS_ENDPOINT": "https://obs.cn-north-4.myhuaweicloud.com"})
    reply = invoke(load_event("abort.json"), context)
    assert (reply["status"], reply["errorCode"]) == (403, "BucketNotAllowed")
    assert len(obs.calls) == 0


def test_missing_endpoint_is_a_config_error(obs: responses.RequestsMock) -> None:
    reply = invoke(load_event("abort.json"), FakeContext(user_data={"ALLOWED_BUCKETS": "*"}))
    assert reply["errorCode"] == "ConfigError" and "OBS_ENDPOINT" in reply["errorMessage"]


def test_bad_setting_is_named(context: FakeContext, obs: responses.RequestsMock) -> None:
    context.user_data["OBS_MAX_RETRY_COUNT"] = "lots"
    reply = invoke(load_event("abort.json"), context)
    assert reply["errorCode"] == "ConfigError" and "OBS_MAX_RETRY_COUNT" in reply["errorMessage"]


def test_region_builds_the_endpoint(obs: responses.RequestsMock) -> None:
    context = FakeContext(user_data={"OBS_REGION": "ap-southeast-3", "ALLOWED_BUCKETS": "*"})
    upload = _canonical(load_event("abort.json"))
    obs.add("DELETE", abort_url(upload["bucket"], upload["objectKey"]).replace("cn-north-4", "ap-southeast-3"), status=204)
    assert invoke(load_event("abort.json"), context)["status"] == 204


def test_no_credentials_means_no_request(obs: responses.RequestsMock) -> None:
    context = FakeContext(user_data={"OBS_ENDPOINT": "https://obs.cn-north-4.myhuaweicloud.com",
                                     "ALLOWED_BUCKETS": "examplebucket"}, access_key="", secret_key="", token="")
    reply = invoke(load_event("abort.json"), context)
    assert reply["errorCode"] == "MissingCredentials" and len(obs.calls) == 0


def test_environment_keys_when_no_agency(monkeypatch: pytest.MonkeyPatch, obs: responses.RequestsMock) -> None:
    monkeypatch.setenv("OBS_ENDPOINT", "https://obs.cn-north-4.myhuaweicloud.com")
    monkeypatch.setenv("ALLOWED_BUCKETS", "examplebucket")
    monkeypatch.setenv("AccessKeyID", "AK-ENV")
    monkeypatch.setenv("SecretAccessKey", "SK-ENV")
    upload = _canonical(load_event("abort.json"))
    obs.add("DELETE", abort_url(upload["bucket"], upload["objectKey"]), status=204, match=[
        matchers.header_matcher({"Authorization": re.compile("^OBS AK-ENV:")}, strict_match=False)])
    assert invoke(load_event("abort.json"), object())["status"] == 204


def test_client_reused_while_warm_and_renewed_on_rotation(context: FakeContext, obs: responses.RequestsMock) -> None:
    from handler.runtime import cached_client

    upload = _canonical(load_event("abort.json"))
    for _ in range(3):
        expect_abort(obs, upload)
    invoke(load_event("abort.json"), context)
    first = cached_client()
    invoke(load_event("abort.json"), context)
    assert cached_client() is first
    context.secret_key = "ROTATED-" + context.secret_key
    invoke(load_event("abort.json"), context)
    assert cached_client() is not first


def test_transport_failure_is_a_structured_result(context: FakeContext, obs: responses.RequestsMock) -> None:
    context.user_data["OBS_MAX_RETRY_COUNT"] = "0"
    upload = _canonical(load_event("abort.json"))
    obs.add("DELETE", abort_url(upload["bucket"], upload["objectKey"]), body=requests.ConnectionError("refused"))
    reply = invoke(load_event("abort.json"), context)
    assert (reply["status"], reply["errorCode"]) == (503, "TransportError")
    assert "obs.cn-north-4.myhuaweicloud.com" in reply["errorMessage"]


def test_spent_budget_sends_nothing(context: FakeContext, obs: responses.RequestsMock) -> None:
    context.remaining_ms = 1000  # below the default 5 s safety margin
    reply = invoke(load_event("abort.json"), context)
    assert reply["errorCode"] == "DeadlineExceeded" and len(obs.calls) == 0


def test_a_bug_becomes_a_result_not_a_raise(context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    import handler.index

    def boom(*args: object) -> None:
        raise RuntimeError(f"bug holding {context.secret_key}")

    monkeypatch.setattr(handler.index, "classify", boom)
    reply = invoke(load_event("abort.json"), context)
    assert (reply["status"], reply["errorCode"]) == (500, "InternalError")
    assert "RuntimeError" in reply["errorMessage"]


def test_apig_invalid_body_gets_apig_shape(context: FakeContext, obs: responses.RequestsMock) -> None:
    event = load_event("apig.json")
    event["body"] = "not base64!"
    reply = invoke(event, context)
    assert reply["statusCode"] == 400
    assert json.loads(reply["body"])["errorCode"] == "InvalidEvent"


def test_every_sample_is_covered() -> None:
    covered = set(ABANDONMENT_SAMPLES) | set(INVALID_SAMPLES) | SWEEP_SAMPLES
    assert covered == {p.name for p in Path(EVENTS).glob("*.json")}


SWEEP_SAMPLES = {"timer.json", "obs-trigger-s3.json", "obs-trigger-obs.json", "obs-trigger-removed.json",
                 "eventgrid-obs.json", "continuation.json", "fanout-chain.json", "timer-fanout.json"}
