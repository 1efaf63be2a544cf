"""A hostile server echoes the credentials back: nothing the client returns or raises
carries them, in any encoding.

The server is a `responses` callback that reflects the security token it *received*
(so the test proves a real round trip), in every place and shape S3-compatible servers
and proxies have been seen to use.
"""

from __future__ import annotations

import base64
import html
import json
import re
import traceback
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

import pytest
import requests
import responses

from handler.obs import GetResult, ListingStuckError, ObsClient, ObsTransportError
from handler.obs.model import GET_RESULT_FIELDS
from handler.obs.paging import iter_upload_pages

if TYPE_CHECKING:
    from collections.abc import Callable

ENDPOINT = "https://obs.cn-north-4.myhuaweicloud.com"
SECRET_KEY = "SECRET/KEY+sentinel=0123456789abcdef"
IAM_TOKEN = "MIIEiamTOKEN+sentinel/=42"
TOKENS = [
    "TOKEN+/=&<>sentinel-aaaa1111",
    "gQpjbi1ub3J0aC00" + "A1b2+C3d/E4f=" * 120,  # an STS token's length
    "tok with space;colon:at@sentinel",
    'quote"apos\'sentinel\\backslash',
]
Echo = tuple[int, dict[str, str], str]


def _xml(text: str) -> str:
    return html.escape(text, quote=False)


def _error(code: str, inner: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>{inner}'
            "<RequestId>RID</RequestId><HostId>HID</HostId></Error>")


XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}
ECHOES: dict[str, Callable[[str], Echo]] = {
    "s3-expired-token": lambda t: (400, XML, _error(
        "ExpiredToken", f"<Message>The provided token has expired.</Message><Token-0>{_xml(t)}</Token-0>")),
    "s3-invalid-token": lambda t: (400, XML, _error(
        "InvalidToken", f"<Message>The provided token is malformed.</Message><Token-0>{_xml(t)}</Token-0>")),
    "message-quotes-token": lambda t: (403, XML, _error(
        "AccessDenied", f"<Message>token {_xml(t)} is not valid</Message>")),
    "message-xml-escaped-all": lambda t: (403, XML, _error(
        "AccessDenied", f"<Message>{html.escape(t)}</Message>")),
    "message-numeric-refs": lambda t: (403, XML, _error(
        "AccessDenied", "<Message>" + "".join(c if c.isalnum() else f"&#{ord(c)};" for c in t)
        + "</Message>")),
    "code-is-token": lambda t: (400, XML, _error(_xml(t), "<Message>m</Message>")),
    "resource-url-encoded": lambda t: (403, XML, _error(
        "AccessDenied", f"<Resource>/examplebucket/k?x-obs-security-token={quote(t, safe='')}</Resource>")),
    "resource-quote-plus-lower": lambda t: (403, XML, _error(
        "AccessDenied", "<Resource>" + re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(),
                                             quote_plus(t)) + "</Resource>")),
    "ids-carry-token": lambda t: (403, XML, (
        f"<Error><Code>AccessDenied</Code><RequestId>{_xml(t)}</RequestId>"
        f"<HostId>{base64.b64encode(t.encode()).decode()}</HostId></Error>")),
    "string-to-sign": lambda t: (403, XML, _error(
        "SignatureDoesNotMatch",
        f"<StringToSign>DELETE\n\n\nDate\nx-obs-security-token:{_xml(t)}\n/b/k</StringToSign>"
        "<StringToSignBytes>" + " ".join(f"{b:02x}" for b in f"x-obs-security-token:{t}".encode())
        + "</StringToSignBytes>")),
    "json-error": lambda t: (400, JSON, json.dumps(
        {"code": "InvalidToken", "message": f"token {t} rejected", "request_id": t})),
    "json-escaped-slashes": lambda t: (400, JSON, json.dumps(
        {"code": "InvalidToken", "message": t}).replace("/", "\\/")),
    "json-go-style": lambda t: (400, JSON, json.dumps({"code": "X", "message": t}).replace(
        "<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")),
    "headers-reflect-token": lambda t: (403, {
        **XML, "x-obs-security-token": t, "x-amz-security-token": t, "Authorization": f"OBS {t}",
        "x-obs-echo": t, "x-obs-echo-quoted": quote(t, safe=""), "x-reserved-indicator": t,
        "x-obs-request-id": t, "Set-Cookie": f"s={quote(t)}",
    }, _error("AccessDenied", "<Message>m</Message>")),
    "header-name-carries-token": lambda t: (403, {
        **XML, "x-obs-meta-" + quote(t, safe=""): "v",
    }, _error("AccessDenied", "<Message>m</Message>")),
    "success-reflects-headers": lambda t: (204, {
        "x-obs-security-token": t, "x-obs-token-echo": quote(t, safe=""), "etag": t,
    }, ""),
    "planted-iam-token-and-key": lambda t: (403, {**XML, "x-obs-echo": IAM_TOKEN}, _error(
        "AccessDenied", f"<Message>{_xml(IAM_TOKEN)} / {_xml(SECRET_KEY)}</Message>")),
}

CALLS: dict[str, Callable[[ObsClient], GetResult]] = {
    "abort": lambda c: c.abortMultipartUpload("examplebucket", "k", "U1"),
    "listParts": lambda c: c.listParts("examplebucket", "k", "U1"),
    "listUploads": lambda c: c.listMultipartUploads("examplebucket", prefix="p/"),
    "lifecycle": lambda c: c.getBucketLifecycle("examplebucket"),
    "putContent": lambda c: c.putContent("examplebucket", "report.html", "<html></html>"),
}


def _forms(secret: str) -> list[str]:
    """The secret as an encoder on the way could have written it."""
    return sorted({
        secret, quote(secret, safe=""), quote(secret, safe="/"), quote_plus(secret),
        html.escape(secret), html.escape(secret, quote=False), json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        " ".join(f"{b:02x}" for b in secret.encode()),
        base64.b64encode(secret.encode()).decode(),
    })


def _assert_free(text: str, token: str) -> None:
    for secret in (token, SECRET_KEY, IAM_TOKEN):
        for form in _forms(secret):
            assert form not in text, f"leaked {form[:40]!r}"


def _texts(result: GetResult) -> list[str]:
    fields = [str(getattr(result, name)) for name in GET_RESULT_FIELDS]
    return [repr(result), str(result), json.dumps(result.to_dict(), default=str), *fields]


def _client(token: str) -> ObsClient:
    return ObsClient("AK", SECRET_KEY, ENDPOINT, security_token=token, max_retry_count=0,
                     extra_secrets=[IAM_TOKEN])


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("echo", list(ECHOES))
@pytest.mark.parametrize("token", TOKENS, ids=lambda t: t[:10])
class TestHostileServerEchoes:
    def test_no_field_carries_a_secret(self, token: str, echo: str, call: str) -> None:
        received: list[str] = []

        def reflect(request: requests.PreparedRequest) -> Echo:
            received.append(request.headers["x-obs-security-token"])
            return ECHOES[echo](request.headers["x-obs-security-token"])

        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            for method in ("GET", "PUT", "DELETE"):
                rsps.add_callback(method, re.compile(r"https://examplebucket\..*"),
                                  callback=reflect)
            result = CALLS[call](_client(token))
        assert received == [token]  # the server really had the token to echo
        for text in _texts(result):
            _assert_free(text, token)
        names = [name for name, _ in result.header or ()]
        assert "security-token" not in names and "authorization" not in names


@pytest.mark.parametrize("token", TOKENS, ids=lambda t: t[:10])
@pytest.mark.parametrize(
    "message",
    [
        "reset sending x-obs-security-token: {t}",
        # The cause's text is cut at 300 characters: a secret across the cut.
        "x" * 280 + " {t} after the cut",
        "HTTPSConnectionPool(host='x', port=443): Max retries exceeded with url: /k?t={q}",
        "ProxyError('http://user:{sk}@proxy.local:3128', {t!r})",
        "{iam} {b64}",
    ],
)
def test_transport_errors_carry_no_secret(token: str, message: str) -> None:
    text = message.format(t=token, q=quote(token, safe=""), sk=SECRET_KEY, iam=IAM_TOKEN,
                          b64=base64.b64encode(token.encode()).decode())
    with responses.RequestsMock() as rsps:
        rsps.add("DELETE", re.compile(r".*"), body=requests.ConnectionError(text))
        with pytest.raises(ObsTransportError) as caught:
            _client(token).abortMultipartUpload("examplebucket", "k", "U1")
    exc = caught.value
    rendered = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for shown in (str(exc), repr(exc), repr(exc.args), exc.endpoint, rendered):
        _assert_free(shown, token)
        if "after the cut" in message:  # not even the part before the cut
            assert token[:12] not in shown
    assert exc.__context__ is None and exc.__cause__ is None
    assert "ConnectionError" in str(exc)  # still says what happened


@pytest.mark.parametrize("token", TOKENS, ids=lambda t: t[:10])
def test_stuck_listing_error_names_no_secret(token: str) -> None:
    """Markers are server data; a server that pages on the token itself must not get it
    into the ListingStuckError message."""
    page = (
        "<ListMultipartUploadsResult><Bucket>examplebucket</Bucket>"
        f"<KeyMarker>{_xml(token)}</KeyMarker><NextKeyMarker>{_xml(token)}</NextKeyMarker>"
        f"<NextUploadIdMarker>{_xml(token)}</NextUploadIdMarker>"
        "<IsTruncated>true</IsTruncated></ListMultipartUploadsResult>"
    )
    client = _client(token)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", re.compile(r".*"), body=page, status=200)
        with pytest.raises(ListingStuckError) as caught:
            for _ in iter_upload_pages(client, "examplebucket"):
                pass
    _assert_free(str(caught.value), token)


def test_redactor_is_exposed_for_log_lines() -> None:
    from handler.obs import redact

    token = TOKENS[0]
    client = _client(token)
    line = f"sending with token={token} iam={quote(IAM_TOKEN)}"
    for scrub in (client.redactor.scrub, redact.scrub):
        _assert_free(scrub(line), token)
    assert "sending with token=***" in client.redactor.scrub(line)
    assert SECRET_KEY not in repr(client) and token not in repr(client)


