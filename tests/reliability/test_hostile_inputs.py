"""Never raise, never exceed: hostile contexts, values and sizes.

The handler returns a JSON-ready dict for any event and any context; a context whose
logger or methods raise costs at most its log lines; every malformed value is a 400
InvalidEvent naming it; a batch is at most 1,000 uploads however it is wrapped; and no
reply exceeds 6 MB, failures kept first and the cut said.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from typing import Any

import pytest
import responses

from tests.conftest import FakeContext, RecordingLogger
from tests.reliability.hostile import (
    ANY_URL,
    BUCKET,
    REPLY_LIMIT,
    VALID_ID,
    Entry,
    Page,
    ScriptedObs,
    count_keyless,
    hostile_context,
    iso,
    keep_text,
    now,
    parse_sent,
    run,
    timer,
)
from tests.reliability.metrics import scenario
from tests.reliability.test_hostile_listings import OLD

ABORT = {"bucket": BUCKET, "objectKey": "k", "uploadId": VALID_ID}
BATCH = {"uploads": [ABORT, {**ABORT, "objectKey": "k2"}]}
OBJECT_EVENT = {"Records": [{"eventName": "ObjectCreated:Put", "eventTime": iso(now()),
                             "s3": {"bucket": {"name": BUCKET}, "object": {"key": "old.bin"}}}]}
EVENTS: dict[str, Any] = {
    "single": ABORT, "batch": BATCH, "timer": timer(min_age="24h", check_activity=False),
    "object event": OBJECT_EVENT,
}
EXPECTED_DELETES = {"single": 1, "batch": 2, "timer": 1, "object event": 1}


def against_obs(event: Any, context: Any) -> tuple[dict[str, Any], ScriptedObs]:
    server = ScriptedObs({None: Page([Entry("old.bin", VALID_ID, iso(now() - OLD))])})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        reply = run(event, context)
    count_keyless(server.sent)
    return reply, server


def invalid(reply: dict[str, Any], *names: str) -> dict[str, Any]:
    """The janitor's 400 InvalidEvent (unwrapped from APIG's reply), naming ``names``."""
    if "statusCode" in reply:
        assert reply["statusCode"] == 400, reply
        reply = json.loads(reply["body"])
    assert (reply.get("status"), reply.get("errorCode")) == (400, "InvalidEvent"), reply
    # The name must be in the problem, not in the list of accepted shapes that follows it.
    problem = reply["errorMessage"].split(". Accepted:")[0]
    for name in names:
        assert name in problem, f"{name!r} not named in {problem!r}"
    return reply


# -- contexts that misbehave ---------------------------------------------------------------------

class RaisingLogger(RecordingLogger):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def info(self, line: str) -> None:
        raise self.error


def failing(method: str, error: BaseException, as_property: bool = False) -> FakeContext:
    """A context whose ``method`` raises ``error`` (when called, or when looked up)."""
    def raiser(self: Any, *args: Any) -> Any:
        raise error

    attrs: dict[str, Any] = {method: property(raiser) if as_property else raiser}
    cls = type(f"Failing{method}", (FakeContext,), attrs)
    context: FakeContext = cls(user_data=hostile_context().user_data)
    return context


LOGGER_ERRORS = {"OSError (disk full)": OSError(28, "No space left on device"),
                 "BrokenPipeError": BrokenPipeError(32, "Broken pipe"),
                 "RuntimeError": RuntimeError("logger"), "ValueError": ValueError("closed file"),
                 "KeyError": KeyError("x"), "UnicodeEncodeError": UnicodeEncodeError(
                     "ascii", "\u212a", 0, 1, "no")}


@pytest.mark.parametrize("kind", sorted(EVENTS))
@pytest.mark.parametrize("error", sorted(LOGGER_ERRORS))
def test_a_logger_that_raises_costs_only_log_lines(error: str, kind: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    context = hostile_context(SWEEP_BUCKETS=BUCKET, OBJECT_EVENT_GRACE="1h")
    context.logger = RaisingLogger(LOGGER_ERRORS[error])
    reply, server = against_obs(EVENTS[kind], context)
    err = capsys.readouterr().err
    keep_text(err)
    assert reply.get("errorCode") != "InternalError", reply
    assert len(server.deletes) == EXPECTED_DELETES[kind]
    # The decisions went to stderr instead.
    assert '"action"' in err
    scenario("the context's logger raises (OSError, BrokenPipeError, ...): reply intact, log on stderr")


def test_a_logger_and_stderr_that_both_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stderr", Broken())
    context = hostile_context()
    context.logger = RaisingLogger(OSError(5, "I/O error"))
    reply, server = against_obs(BATCH, context)
    assert reply["summary"]["aborted"] == 2 and len(server.deletes) == 2


METHODS = ("getLogger", "getRequestID", "getRemainingTimeInMilliSeconds", "getSecurityToken",
           "getSecuritySecretKey", "getSecurityAccessKey", "getToken", "getUserData")
ERRORS = {"RuntimeError": RuntimeError("boom"), "KeyError": KeyError("boom"),
          "ValueError": ValueError("boom"), "OSError": OSError("boom"),
          "RecursionError": RecursionError("boom"), "TypeError": TypeError("boom")}


@pytest.mark.parametrize("as_property", [False, True], ids=["method", "property"])
@pytest.mark.parametrize("error", sorted(ERRORS))
@pytest.mark.parametrize("method", METHODS)
def test_context_methods_that_raise_never_raise_from_the_handler(
        method: str, error: str, as_property: bool) -> None:
    context = failing(method, ERRORS[error], as_property)
    reply, server = against_obs(BATCH, context)
    assert isinstance(reply, dict) and reply.get("errorCode") != "InternalError", reply
    assert len(server.deletes) <= 2
    if method not in ("getUserData", "getSecuritySecretKey", "getSecurityAccessKey"):
        # Nothing the abort needs is missing: both uploads go.
        assert reply["summary"]["aborted"] == 2, reply


@pytest.mark.parametrize("value", [object(), 5, "text", None, [1]],
                         ids=["object", "int", "str", "None", "list"])
def test_a_logger_of_the_wrong_kind(value: Any) -> None:
    context = hostile_context()
    context.logger = value
    reply, server = against_obs(ABORT, context)
    assert reply["status"] == 204 and len(server.deletes) == 1


REMAINING = {"10**400": 10**400, "nan": float("nan"), "-5": -5, "True": True, "False": False,
             "inf": float("inf"), "-inf": float("-inf"), "text": "60000", "None": None,
             "1e308": 1e308, "2**63": 2**63, "0": 0, "a list": [60000]}


@pytest.mark.parametrize("kind", sorted(EVENTS))
@pytest.mark.parametrize("name", sorted(REMAINING))
def test_any_remaining_time_gives_a_reply(name: str, kind: str) -> None:
    context = hostile_context(SWEEP_BUCKETS=BUCKET)
    context.remaining_ms = REMAINING[name]
    reply, server = against_obs(EVENTS[kind], context)
    assert reply.get("errorCode") != "InternalError", reply
    assert len(server.deletes) <= EXPECTED_DELETES[kind]


# -- malformed values: 400 naming them ---------------------------------------------------------

DEEP_TEXT = {"lists": "[" * 200_000, "objects": '{"a":' * 100_000, "mixed": '[{"a":' * 70_000}


def _deep_object(levels: int) -> Any:
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


def deep_wrappers(text: str) -> dict[str, tuple[Any, str]]:
    return {
        "APIG body": ({"httpMethod": "POST", "requestContext": {}, "body": text}, "body"),
        "APIG base64 body": ({"httpMethod": "POST", "requestContext": {}, "isBase64Encoded": True,
                              "body": base64.b64encode(text.encode()).decode()}, "body"),
        "SMN message": ({"record": [{"event_source": "smn", "smn": {"message": text}}]},
                        "smn.message"),
        "user_event": ({"trigger_type": "TIMER", "user_event": text}, "user_event"),
        "CloudEvent data": ({"specversion": "1.0", "data": text}, "data"),
    }


@pytest.mark.parametrize("shape", sorted(DEEP_TEXT))
@pytest.mark.parametrize("where", sorted(deep_wrappers("")))
def test_deep_json_text_is_a_400_naming_its_field(where: str, shape: str) -> None:
    event, field = deep_wrappers(DEEP_TEXT[shape])[where]
    reply, server = against_obs(event, hostile_context())
    body = invalid(reply, field)
    assert server.sent == [] and body
    scenario("deep JSON text (200,000 levels) in an APIG body, SMN message, user_event or CloudEvent data: 400 naming it")


@pytest.mark.parametrize("shape", sorted(DEEP_TEXT))
def test_deep_json_in_several_smn_records_rejects_each_and_sends_nothing(shape: str) -> None:
    event = {"record": [{"event_source": "smn", "smn": {"message": DEEP_TEXT[shape]}}] * 2}
    reply, server = against_obs(event, hostile_context())
    assert [r["outcome"] for r in reply["results"]] == ["rejected", "rejected"]
    assert {r["result"]["errorCode"] for r in reply["results"]} == {"InvalidEvent"}
    assert server.sent == []


DEEP_OBJECTS: dict[str, tuple[Any, str]] = {
    "user_event object": ({"trigger_type": "TIMER", "user_event": {"buckets": _deep_object(5000)}},
                          "nested deeper"),
    "CloudEvent data object": ({"specversion": "1.0", "data": {"bucket": _deep_object(5000)}},
                               "upload"),
    "continuation": ({"continuation": {"bucket": _deep_object(5000)}}, "continuation"),
    "fanout": ({"fanout": {"tasks": _deep_object(5000)}}, "fanout"),
    "an upload's key": ({**ABORT, "objectKey": _deep_object(5000)}, "upload"),
    "a batch item": ({"uploads": [_deep_object(5000), ABORT]}, ""),
}


@pytest.mark.parametrize("where", sorted(DEEP_OBJECTS))
def test_deep_objects_are_refused_without_recursion(where: str) -> None:
    event, field = DEEP_OBJECTS[where]
    reply, server = against_obs(event, hostile_context())
    assert reply.get("errorCode") != "InternalError", reply
    if "results" in reply:  # a batch: the deep item rejected, the other one aborted
        assert [r["outcome"] for r in reply["results"]] == ["rejected", "aborted"]
    else:
        invalid(reply, field)
        assert server.sent == []


NOT_OBJECTS = {"text": "x", "a list": [1], "a number": 5, "true": True, "null": None}


@pytest.mark.parametrize("name", sorted(NOT_OBJECTS))
def test_a_non_object_smn_is_a_400(name: str) -> None:
    event = {"record": [{"event_source": "smn", "smn": NOT_OBJECTS[name]}]}
    reply, server = against_obs(event, hostile_context())
    invalid(reply)
    assert server.sent == []


NOT_STRINGS = {"a number": 5, "null": None, "a list": ["k"], "an object": {"k": 1},
               "true": True, "a float": 1.5}


def object_event(shape: str, key: Any) -> dict[str, Any]:
    record = {"bucket": {"name": BUCKET}, "object": {"key": key}}
    if shape == "EventGrid":
        return {"specversion": "1.0", "time": iso(now()),
                "data": {"eventName": "ObjectCreated:Put", "obs": record}}
    return {"Records": [{"eventName": "ObjectCreated:Put", shape: record}]}


@pytest.mark.parametrize("shape", ["s3", "obs", "EventGrid"])
@pytest.mark.parametrize("name", sorted(NOT_STRINGS))
def test_a_non_string_object_key_is_a_400_naming_it(name: str, shape: str) -> None:
    reply, server = against_obs(object_event(shape, NOT_STRINGS[name]), hostile_context())
    invalid(reply, "key")
    assert server.sent == []


BAD_HEADER_NAMES = {
    "Kelvin sign": "x-obs-meta-\u212a", "dotted capital I": "x-obs-meta-\u0130",
    "long s": "x-obs-meta-\u017f", "full-width A": "X-OBS-META-\uff21", "e acute": "x-obs-meta-\u00e9",
    "CR LF": "x-obs-meta-a\r\nb", "space": "x-obs-meta-a b", "colon": "x-obs-meta-a:b",
    "NUL": "x-obs-meta-\x00", "emoji": "x-obs-meta-\U0001f600",
}
BAD_HEADER_VALUES = {"e acute": "\u00e9", "CR LF": "a\r\nInjected: 1", "NUL": "\x00",
                     "Kelvin sign": "\u212a", "a list": ["x"], "a number": 5}


def _batch_with(bad_item: dict[str, Any]) -> dict[str, Any]:
    return {"uploads": [{**ABORT, "objectKey": "first"}, bad_item,
                        {**ABORT, "objectKey": "last"}]}


@pytest.mark.parametrize("name", sorted(BAD_HEADER_NAMES))
def test_a_bad_header_name_rejects_its_item_only(name: str) -> None:
    bad = {**ABORT, "objectKey": "bad", "extensionHeaders": {BAD_HEADER_NAMES[name]: "v"}}
    reply, server = against_obs(_batch_with(bad), hostile_context())
    outcomes = [r["outcome"] for r in reply["results"]]
    assert outcomes == ["aborted", "rejected", "aborted"], reply
    assert "extensionHeaders" in reply["results"][1]["result"]["errorMessage"]
    assert sorted(s.key or "" for s in server.deletes) == ["first", "last"]
    scenario("a non-ASCII header name in a batch item: that item 400, the others aborted")


@pytest.mark.parametrize("name", sorted(BAD_HEADER_VALUES))
def test_a_bad_header_value_rejects_its_item_only(name: str) -> None:
    bad = {**ABORT, "objectKey": "bad",
           "extensionHeaders": {"x-obs-meta-a": BAD_HEADER_VALUES[name]}}
    reply, server = against_obs(_batch_with(bad), hostile_context())
    assert [r["outcome"] for r in reply["results"]] == ["aborted", "rejected", "aborted"]
    assert len(server.deletes) == 2


@pytest.mark.parametrize("name", sorted(BAD_HEADER_NAMES))
def test_a_bad_header_name_on_a_single_upload_is_a_400(name: str) -> None:
    reply, server = against_obs({**ABORT, "extensionHeaders": {BAD_HEADER_NAMES[name]: "v"}},
                                hostile_context())
    invalid(reply, "extensionHeaders")
    assert server.sent == []


# -- at most 1,000 uploads per call, however wrapped ----------------------------------------------

def _uploads(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{**ABORT, "objectKey": f"k{i}"} for i in range(start, start + n)]


def _smn(*messages: Any) -> dict[str, Any]:
    return {"record": [{"event_source": "smn", "smn": {"message": json.dumps(m)}}
                       for m in messages]}


OVERSIZED: dict[str, Any] = {
    "three SMN records of 1,000": _smn(*({"uploads": _uploads(1000, 1000 * r)} for r in range(3))),
    "two SMN records of 501": _smn({"uploads": _uploads(501)}, {"uploads": _uploads(501, 501)}),
    "1,001 SMN records of one": _smn(*_uploads(1001)),
    "SMN batch and single": _smn({"uploads": _uploads(1000)}, ABORT),
    "one SMN record of 1,001": _smn({"uploads": _uploads(1001)}),
    "APIG body of 1,001": {"httpMethod": "POST", "requestContext": {},
                           "body": json.dumps({"uploads": _uploads(1001)})},
    "CloudEvent of 1,001": {"specversion": "1.0", "data": {"uploads": _uploads(1001)}},
    "direct 1,001": {"uploads": _uploads(1001)},
    "direct 100,000": {"uploads": _uploads(100_000)},
}


@pytest.mark.parametrize("name", sorted(OVERSIZED))
def test_more_than_1000_uploads_however_wrapped_is_refused(name: str) -> None:
    reply, server = against_obs(OVERSIZED[name], hostile_context())
    invalid(reply, "1000")
    assert server.sent == []
    scenario("more than 1,000 uploads however wrapped (SMN records, APIG, CloudEvent): refused, nothing sent")


def test_1000_uploads_across_smn_records_is_one_batch() -> None:
    event = _smn({"uploads": _uploads(500)}, {"uploads": _uploads(500, 500)})
    with responses.RequestsMock() as mock:
        mock.add(responses.DELETE, ANY_URL, status=204)
        reply = run(event, hostile_context())
        sent = [parse_sent(c.request.method or "", c.request.url or "") for c in mock.calls]
    assert reply["summary"]["aborted"] == 1000 and len(sent) == 1000


# -- the 6 MB ceiling ---------------------------------------------------------------------------

CJK_KEY = "\u6f22\u5b57" * 512  # 1,024 characters, 3,072 bytes


def _echoing_error(status: int = 403) -> Any:
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        sent = parse_sent("DELETE", request.url)
        if status < 300:
            return status, {}, ""
        key = sent.key or ""
        body = (f"<Error><Code>AccessDenied</Code><Message>Access denied to /{BUCKET}/{key}"
                f"</Message><Resource>/{BUCKET}/{key}</Resource><Key>{key}</Key>"
                f"<RequestId>R</RequestId><HostId>{key}</HostId></Error>")
        return status, {"Content-Type": "application/xml", "x-obs-meta-echo": "x" * 4000}, body
    return callback


def _cjk_batch(n: int, failing_every: int) -> tuple[dict[str, Any], set[str]]:
    uploads = [{**ABORT, "objectKey": f"{i:04d}{CJK_KEY[4:]}"} for i in range(n)]
    failing = {u["objectKey"] for i, u in enumerate(uploads) if i % failing_every == 0}
    return {"uploads": uploads}, failing


@pytest.mark.parametrize("failing_every", [1, 2, 10], ids=["all fail", "half fail", "1 in 10"])
@pytest.mark.parametrize("apig", [False, True], ids=["direct", "APIG"])
def test_a_batch_of_long_cjk_keys_replies_within_6mb(failing_every: int, apig: bool) -> None:
    batch, failing = _cjk_batch(1000, failing_every)
    event: Any = ({"httpMethod": "POST", "requestContext": {}, "body": json.dumps(batch)}
                  if apig else batch)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        key = parse_sent("DELETE", request.url).key or ""
        return _echoing_error(403 if key in failing else 204)(request)

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.DELETE, ANY_URL, callback=answer)
        reply = run(event, hostile_context())  # run() checks the 6 MB ceiling
    size = len(json.dumps(reply, ensure_ascii=False).encode())
    assert size <= REPLY_LIMIT
    payload = json.loads(reply["body"]) if apig else reply
    assert payload["summary"]["failed"] == len(failing)
    assert payload["summary"]["aborted"] == 1000 - len(failing)
    kept = payload["results"]
    failures_kept = sum(r["outcome"] == "failed" for r in kept)
    if len(kept) < 1000:  # entries were cut: failures first, and the reply says so
        assert failures_kept == len(failing) or all(r["outcome"] == "failed" for r in kept)
        assert payload["trimmed"]["entries"] == 1000 - len(kept)
    assert "trimmed" in payload and payload["trimmed"]["bodies"] > 0
    scenario(f"1,000 CJK keys of 1,024 characters, {len(failing)} error bodies echoing the "
             f"resource{' via APIG' if apig else ''}: {size:,} bytes")


def test_a_sweep_of_long_cjk_keys_replies_within_6mb() -> None:
    entries = [Entry(f"{i:04d}{CJK_KEY[4:]}", f"{i:032d}", iso(now() - OLD)) for i in range(2500)]
    pages = {None: Page(entries[:1000], truncated=True, next_key=entries[999].key,
                        next_id=entries[999].upload_id),
             entries[999].key: Page(entries[1000:2000], truncated=True,
                                    next_key=entries[1999].key, next_id=entries[1999].upload_id),
             entries[1999].key: Page(entries[2000:])}
    server = ScriptedObs(pages, delete_status=403, delete_body="<Error><Code>AccessDenied</Code>"
                         "<Message>" + CJK_KEY + "</Message></Error>")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        reply = run(timer(min_age="24h", check_activity=False, verify_aborts=False,
                          max_consecutive_failures=10_000),
                    FakeContext(user_data=hostile_context().user_data, remaining_ms=600_000))
    assert reply["summary"]["failed"] == 2500
    assert len(reply["uploads"]) < 2500 and reply.get("trimmed")


def test_object_events_of_many_long_keys_reply_within_6mb() -> None:
    # Three records, and a server listing 1,000 young uploads on each of their keys (in one
    # page: a hostile server need not stop at 1,000): each record's report is ~3 MB.
    keys = [f"{r}{CJK_KEY[1:]}" for r in range(3)]
    records = [{"eventName": "ObjectCreated:Put", "eventTime": iso(now()),
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}} for key in keys]
    young = [Entry(key, f"{i:032d}", iso(now())) for key in keys for i in range(1000)]
    server = ScriptedObs({None: Page(young)})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        reply = run({"Records": records}, hostile_context(OBJECT_EVENT_KEY_ENCODING="none"))
    assert server.deletes == []
    assert "records" in reply and reply.get("trimmed"), list(reply)
