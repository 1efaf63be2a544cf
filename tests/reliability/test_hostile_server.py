"""Secrets never leave: whatever a server echoes, in whatever spelling.

The context holds a secret key, a security token and an IAM token with the characters
real ones have (``/``, ``+``, ``=``) and the ones encodings change (``&``, ``<``, ``'``),
so that a URL-encoded or XML-escaped echo differs from the raw value. Servers (responses
callbacks, and real loopback stand-ins) echo them in S3's ExpiredToken/InvalidToken
bodies, in ``<Message>``, ``<Code>``, ``<Resource>``, JSON error bodies and response
headers; every reply, log line and stderr line is searched for every spelling.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import pytest
import responses

from tests.conftest import FakeContext
from tests.reliability.hostile import (
    ANY_URL,
    BUCKET,
    VALID_ID,
    echoed,
    forms,
    hostile_context,
    iso,
    keep_text,
    now,
    outputs,
    run,
    timer,
)
from tests.reliability.metrics import scenario
from tests.reliability.test_hostile_listings import OLD
from tests.support.canned_server import Canned, CannedServer
from tools.standin import FakeObs, serve

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+hostile=&<sk>'40"
SECURITY_TOKEN = "gQ0tFw/hostile+security=&<token>'Zm9v"
IAM_TOKEN = "MIIhostile/iam+token=&<iam>'MIIE"
SECRETS = {"secret key": SECRET_KEY, "security token": SECURITY_TOKEN, "IAM token": IAM_TOKEN}
ABORT = {"bucket": BUCKET, "objectKey": "k", "uploadId": VALID_ID}


class SecretContext(FakeContext):
    def getToken(self) -> str:
        return IAM_TOKEN


def secret_context(endpoint: str | None = None, **user_data: str) -> SecretContext:
    base = hostile_context(SWEEP_BUCKETS=BUCKET, **user_data).user_data
    if endpoint:
        base.update(OBS_ENDPOINT=endpoint, UPLOAD_ID_FORMAT="relaxed")
    return SecretContext(user_data=base, secret_key=SECRET_KEY, token=SECURITY_TOKEN)


SPELLINGS = {
    "raw": lambda s: s,
    "URL-encoded": lambda s: quote(s, safe=""),
    "URL-encoded (+ for space)": quote_plus,
    "XML-escaped": escape,
}


def xml_error(code: str, where: str, value: str) -> str:
    """An S3/OBS error document with ``value`` in one element (``where``)."""
    fields = {"Code": code, "Message": "The provided token has expired.",
              "RequestId": "4442587FB7D0A2F9", "HostId": "host-id", "Resource": f"/{BUCKET}/k"}
    if where.startswith("Message"):
        fields["Message"] = f"The provided token is malformed or otherwise invalid: {value}"
    elif where in fields:
        fields[where] = value
    extra = f"<{where}>{value}</{where}>" if where not in fields else ""
    return ("<?xml version='1.0' encoding='UTF-8'?><Error>"
            + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + extra + "</Error>")


def echo(place: str, secret: str, spelling: str) -> tuple[int, dict[str, str], str]:
    """A 403 echoing ``secret``, spelt ``spelling``, at ``place``."""
    value = SPELLINGS[spelling](secret)
    xml = {"Content-Type": "application/xml", "x-obs-request-id": "R1"}
    if place == "Token-0 (ExpiredToken)":
        return 403, xml, xml_error("ExpiredToken", "Token-0", value)
    if place == "Token-0 (InvalidToken)":
        return 400, xml, xml_error("InvalidToken", "Token-0", value)
    if place in ("Message", "Code", "Resource", "HostId", "RequestId"):
        return 403, xml, xml_error("AccessDenied", place, value)
    if place == "JSON message":
        return 403, {"Content-Type": "application/json"}, json.dumps(
            {"code": "InvalidToken", "message": f"bad token {value}", "request_id": "R1"})
    if place == "JSON code":
        return 403, {"Content-Type": "application/json"}, json.dumps(
            {"code": value, "message": "denied", "request_id": "R1"})
    if place == "reflected x-obs-security-token header":
        return 403, {**xml, "x-obs-security-token": value}, xml_error("AccessDenied", "Code",
                                                                      "AccessDenied")
    if place == "x-obs-meta header":
        return 403, {**xml, "x-obs-meta-echo": value}, xml_error("AccessDenied", "Code",
                                                                "AccessDenied")
    if place == "Location header":
        return 307, {**xml, "Location": f"https://elsewhere.example/?t={value}"}, xml_error(
            "TemporaryRedirect", "Code", "TemporaryRedirect")
    raise AssertionError(place)


PLACES = ("Token-0 (ExpiredToken)", "Token-0 (InvalidToken)", "Message", "Code", "Resource",
          "HostId", "RequestId", "JSON message", "JSON code",
          "reflected x-obs-security-token header", "x-obs-meta header", "Location header")



ROUTES = ("single", "batch", "APIG", "sweep listing", "sweep abort", "sweep ListParts",
          "object event", "fanout chain")


def _route_event(route: str) -> dict[str, Any]:
    if route == "single":
        return ABORT
    if route == "batch":
        return {"uploads": [ABORT, {**ABORT, "objectKey": "k2"}]}
    if route == "APIG":
        return {"httpMethod": "POST", "requestContext": {}, "isBase64Encoded": True,
                "body": base64.b64encode(json.dumps(ABORT).encode()).decode()}
    if route == "object event":
        return {"Records": [{"eventName": "ObjectCreated:Put", "eventTime": iso(now()),
                             "s3": {"bucket": {"name": BUCKET}, "object": {"key": "k"}}}]}
    if route == "fanout chain":
        return {"fanout": {"run_id": "echo", "chain": 0, "seq": 0, "tasks": [{"bucket": BUCKET}],
                           "settings": {"buckets": [BUCKET], "min_age": "24h"}}}
    return timer(min_age="24h")


def _listing_ok() -> tuple[int, dict[str, str], str]:
    from tests.reliability.hostile import http_date

    body = (f"<ListMultipartUploadsResult><Bucket>{BUCKET}</Bucket><IsTruncated>false"
            f"</IsTruncated><Upload><Key>k</Key><UploadId>{VALID_ID}</UploadId>"
            f"<Initiated>{iso(now() - OLD)}</Initiated></Upload></ListMultipartUploadsResult>")
    return 200, {"Content-Type": "application/xml", "Date": http_date(now())}, body


def _parts_ok() -> tuple[int, dict[str, str], str]:
    body = (f"<ListPartsResult><Bucket>{BUCKET}</Bucket><Key>k</Key><UploadId>{VALID_ID}"
            f"</UploadId><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber>"
            f"<LastModified>{iso(now() - OLD)}</LastModified><Size>5</Size></Part>"
            "</ListPartsResult>")
    return 200, {"Content-Type": "application/xml"}, body


def _failing_request(route: str) -> str:
    return {"sweep listing": "list", "object event": "list", "fanout chain": "list",
            "sweep ListParts": "parts"}.get(route, "abort")


def _matrix() -> list[Any]:
    cases = []
    for route in ROUTES:
        for place in PLACES:
            if route not in ("single", "batch", "APIG") and place.endswith("header"):
                continue  # sweep reports carry no headers
            for spelling in SPELLINGS:
                cases.append(pytest.param(route, place, spelling,
                                          id=f"{route}-{place}-{spelling}"))
    return cases


@pytest.mark.parametrize("secret", sorted(SECRETS))
@pytest.mark.parametrize("route, place, spelling", _matrix())
def test_an_echoed_secret_never_leaves(route: str, place: str, spelling: str, secret: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    status, headers, body = echo(place, SECRETS[secret], spelling)
    failing = _failing_request(route)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        is_listing = request.method == "GET" and "uploads" in (request.url or "")
        kind = "list" if is_listing else "parts" if request.method == "GET" else "abort"
        if kind == failing:
            return status, headers, body
        return _listing_ok() if kind == "list" else _parts_ok() if kind == "parts" else (
            204, {}, "")

    context = secret_context(OBJECT_EVENT_GRACE="1h")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "DELETE"):
            mock.add_callback(method, ANY_URL, callback=answer)
        reply = run(_route_event(route), context)
    err = capsys.readouterr().err
    keep_text(err)
    leaks = echoed(outputs(reply, context, err), SECRETS.values())
    assert not leaks, leaks
    scenario("server echoes a credential (raw, URL-encoded, XML-escaped) in a body or header: not in any output")


@pytest.mark.parametrize("route", ["single", "batch", "APIG"])
def test_a_reflected_security_token_header_is_dropped(route: str) -> None:
    status, headers, body = echo("reflected x-obs-security-token header", SECURITY_TOKEN, "raw")
    context = secret_context()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.DELETE, ANY_URL, status=status, headers=headers, body=body)
        reply = run(_route_event(route), context)
    payload = json.loads(reply["body"]) if route == "APIG" else reply
    results = [payload] if "results" not in payload else [r["result"] for r in payload["results"]]
    for result in results:
        names = [name for name, _ in result["header"] or []]
        assert not any("security-token" in name for name in names), names


# -- a real loopback server ------------------------------------------------------------------

LOOPBACK = ("Token-0 (ExpiredToken)", "Message", "JSON message", "x-obs-meta header",
            "reflected x-obs-security-token header")


def _loopback_cases() -> list[Any]:
    cases = []
    for place in LOOPBACK:
        for spelling in ("raw", "URL-encoded", "XML-escaped"):
            for route in ("single", "batch"):
                cases.append(pytest.param(place, spelling, route,
                                          id=f"{route}-{place}-{spelling}"))
    return cases


@pytest.mark.parametrize("place, spelling, route", _loopback_cases())
def test_an_echoed_secret_over_real_http_never_leaves(place: str, spelling: str, route: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    status, headers, body = echo(place, SECURITY_TOKEN, spelling)
    with CannedServer() as server:
        server.reply = Canned(status, "Forbidden", list(headers.items()), body.encode())
        context = secret_context(f"http://127.0.0.1:{server.port}")
        reply = run(_route_event(route), context)
        assert server.captured, "the request reached the loopback server"
    err = capsys.readouterr().err
    keep_text(err)
    assert not echoed(outputs(reply, context, err), SECRETS.values())


@pytest.mark.parametrize("spelling", ["raw", "XML-escaped"])
@pytest.mark.parametrize("request_kind", ["DELETE", "ListParts", "listing"])
def test_a_sweep_over_real_http_echoing_the_token_in_its_code(
        request_kind: str, spelling: str) -> None:
    state = FakeObs()
    state.add_upload(BUCKET, "echo/k", age=OLD, part_ages=[OLD])
    code = SPELLINGS[spelling](SECURITY_TOKEN)
    error = (403, {"Content-Type": "application/xml"},
             f"<Error><Code>{code}</Code><Message>{code}</Message></Error>")

    def fault(method: str, bucket: str, key: str | None, query: dict[str, str]) -> Any:
        kind = ("DELETE" if method == "DELETE" else "listing" if "uploads" in query
                else "ListParts")
        return error if kind == request_kind else None

    state.fault = fault
    with serve(state) as served:
        context = secret_context(served.endpoint)
        reply = run(timer(min_age="24h"), context)
    assert reply["summary"]["aborted"] == 0
    assert not echoed(outputs(reply, context), SECRETS.values())


# -- values of invalid items are not logged raw ----------------------------------------------

PASTED = {"the security token": SECURITY_TOKEN, "the secret key": SECRET_KEY}


def _invalid_items(value: str) -> dict[str, dict[str, Any]]:
    return {
        "bucket": {"bucket": value, "objectKey": "k", "uploadId": VALID_ID},
        "uploadId": {"bucket": BUCKET, "objectKey": "k", "uploadId": value},
        "uploadId (relaxed ids), bad bucket": {"bucket": "A", "objectKey": "k",
                                                "uploadId": value},
        "objectKey, bad uploadId": {"bucket": BUCKET, "objectKey": value, "uploadId": "x"},
        "reason, bad bucket": {"bucket": "A", "objectKey": "k", "uploadId": VALID_ID,
                               "reason": value},
        "a header value": {"bucket": BUCKET, "objectKey": "k", "uploadId": VALID_ID,
                           "extensionHeaders": {"x-obs-meta-a": value + "\u00e9"}},
        "a header name": {"bucket": BUCKET, "objectKey": "k", "uploadId": VALID_ID,
                          "extensionHeaders": {value: "v"}},
        "an unknown field of a bad item": {"bucket": "A", "token": value},
    }


@pytest.mark.parametrize("wrapped", ["single", "batch"])
@pytest.mark.parametrize("field", sorted(_invalid_items("")))
@pytest.mark.parametrize("pasted", sorted(PASTED))
def test_the_functions_own_secret_pasted_into_an_invalid_item_is_not_logged(
        pasted: str, field: str, wrapped: str) -> None:
    item = _invalid_items(PASTED[pasted])[field]
    context = secret_context(UPLOAD_ID_FORMAT="relaxed") if "relaxed" in field else (
        secret_context())
    event = item if wrapped == "single" else {"uploads": [item, ABORT]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.DELETE, ANY_URL, status=204)
        reply = run(event, context)
    assert not echoed(outputs(reply, context), SECRETS.values())
    for form in forms(PASTED[pasted]):
        assert all(form not in line for line in context.logger.lines)


# A caller's own credential pasted into the wrong field: not the function's, so the
# handler's scrubbing of its own secrets cannot catch it; only not logging it raw does.
FOREIGN = "CallerSecret/pasted+by=mistake0123456789"
# Fields whose value is logged only when it is valid on its own (identify()), so a
# foreign value of their shape is the open question of test_hostile_open.py.
FOREIGN_LOGGED_TODAY = frozenset({"objectKey, bad uploadId", "uploadId (relaxed ids), bad bucket"})


def check_foreign_value_not_logged(field: str, wrapped: str) -> None:
    item = _invalid_items(FOREIGN)[field]
    context = secret_context(UPLOAD_ID_FORMAT="relaxed") if "relaxed" in field else (
        secret_context())
    event = item if wrapped == "single" else {"uploads": [item, ABORT]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.DELETE, ANY_URL, status=204)
        run(event, context)
    logged = [line for line in context.logger.lines if any(f in line for f in forms(FOREIGN))]
    assert not logged, logged[0][:300]


@pytest.mark.parametrize("wrapped", ["single", "batch"])
@pytest.mark.parametrize("field", sorted(set(_invalid_items("")) - FOREIGN_LOGGED_TODAY))
def test_a_foreign_secret_pasted_into_an_invalid_item_is_not_logged(field: str,
                                                                    wrapped: str) -> None:
    check_foreign_value_not_logged(field, wrapped)
