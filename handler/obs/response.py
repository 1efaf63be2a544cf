"""Turning an HTTP response into a GetResult, each field as the SDK sets it (docs/obs.md
§5.9)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from handler.obs.model import GetResult

if TYPE_CHECKING:
    from requests import Response

    from handler.obs.redact import Redactor

# Standard headers the SDK keeps in ``GetResult.header`` under their lower-case names
# (its ALLOWED_RESPONSE_HTTP_HEADER_METADATA_NAMES); everything else except x-obs-*/x-amz-*
# (Server, Retry-After, ...) is dropped, as the SDK drops it.
KEPT_HEADERS = frozenset(
    """content-type content-md5 checksum-crc64ecma content-length content-language expires
    origin cache-control content-disposition content-encoding x-default-storage-class location
    date etag host last-modified content-range x-reserved access-control-allow-origin
    access-control-allow-headers access-control-max-age access-control-allow-methods
    access-control-expose-headers connection x-reserved-indicator x-oef-request-id""".split()
)
# Checked in this order, so that a metadata header loses its longer prefix.
_STRIPPED_PREFIXES = ("x-amz-meta-", "x-amz-", "x-obs-meta-", "x-obs-")

BodyParser = Callable[[str], Any]

# Headers that carry credentials, dropped whatever their value: a proxy or a hostile
# server may reflect the request's token or signature (the SDK would keep
# ``security-token``; we never do). Matched on the raw name, before prefixes are stripped.
CREDENTIAL_HEADERS = frozenset(
    """authorization proxy-authorization x-obs-security-token x-amz-security-token
    x-security-token x-auth-token x-subject-token cookie set-cookie""".split()
)


def is_credential_header(name: str) -> bool:
    return _is_credential_lowered(name.strip().lower())


def _is_credential_lowered(lowered: str) -> bool:
    return lowered in CREDENTIAL_HEADERS or lowered.endswith(("security-token", "-authorization"))


def response_headers(response: Response) -> dict[str, str]:
    """Lower-cased names, and for a repeated header its last value, as the SDK keeps them."""
    raw = getattr(response.raw, "headers", None)
    pairs: Iterable[tuple[str, str]] = raw.items() if raw is not None else response.headers.items()
    headers: dict[str, str] = {}
    for name, value in pairs:
        lowered = name.lower()
        if not _is_credential_lowered(lowered.strip()):
            headers[lowered] = value
    return headers


def renamed_headers(headers: dict[str, str]) -> list[tuple[str, str]]:
    """The SDK's ``header`` list: kept names as they are, x-obs-/x-amz- prefixes stripped."""
    renamed: list[tuple[str, str]] = []
    for name, value in headers.items():
        if name in KEPT_HEADERS:
            renamed.append((name, value))
            continue
        if not name.startswith(_STRIPPED_PREFIXES):
            continue  # the common case (Server, ...): dropped without trying each prefix
        for prefix in _STRIPPED_PREFIXES:
            if name.startswith(prefix):
                short = name[len(prefix):]
                short = unquote(short) if prefix.endswith("meta-") else short
                renamed.append((short, unquote(value)))
                break
    return renamed


def _decode(body: bytes) -> str:
    # The SDK raises on a non-UTF-8 error body; a result with replacement characters is
    # more useful to someone reading it at 3 a.m.
    return body.decode("utf-8", errors="replace")


def _is_json(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


def _json_error(text: str) -> tuple[str | None, str | None, str | None] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None

    def field(name: str) -> str | None:
        value = document.get(name)
        return None if value is None else str(value)

    return field("code"), field("message"), field("request_id")


def to_get_result(
    response: Response, parse_body: BodyParser | None = None, redactor: Redactor | None = None
) -> GetResult:
    """Build the GetResult for any HTTP status; only ``parse_body`` depends on the call.

    With a ``redactor``, every text field that leaves is scrubbed of its secrets.
    """
    result = _to_get_result(response, parse_body)
    return scrub_result(result, redactor) if redactor else result


def scrub_result(result: GetResult, redactor: Redactor) -> GetResult:
    """``result`` with its secrets masked in every text field, header names included.

    A parsed body (a listing model) is left as it is: its keys and upload ids must stay
    exact to be acted on, and a listing is not echoed error text. Text bodies are scrubbed.
    """
    from dataclasses import replace

    body = result.body
    if isinstance(body, str):
        body = redactor.scrub(body)
    elif isinstance(body, (bytes, bytearray)):
        body = redactor.scrub_bytes(bytes(body))
    # A kept header's name is one of ours (KEPT_HEADERS), not the server's words: only the
    # other names, and every value, can carry an echoed secret.
    header = None if result.header is None else [
        (name if name in KEPT_HEADERS else redactor.scrub(name), redactor.scrub(value))
        for name, value in result.header
    ]
    reason = _scrub_optional(result.reason, redactor)
    code = _scrub_optional(result.errorCode, redactor)
    message = _scrub_optional(result.errorMessage, redactor)
    request_id = _scrub_optional(result.requestId, redactor)
    indicator = _scrub_optional(result.indicator, redactor)
    host_id = _scrub_optional(result.hostId, redactor)
    resource = _scrub_optional(result.resource, redactor)
    # Nothing masked (the usual case): the result stands as it is, without a second
    # GetResult. Compared by value: a hex run is rebuilt by the scrub even when unmasked.
    if ((body is result.body or body == result.body) and reason == result.reason
            and code == result.errorCode
            and message == result.errorMessage and request_id == result.requestId
            and indicator == result.indicator and host_id == result.hostId
            and resource == result.resource and header == result.header):
        return result
    return replace(
        result, reason=reason, errorCode=code, errorMessage=message, requestId=request_id,
        indicator=indicator, hostId=host_id, resource=resource, header=header, body=body,
    )


def _scrub_optional(value: str | None, redactor: Redactor) -> str | None:
    return None if value is None else redactor.scrub(value)


def _to_get_result(response: Response, parse_body: BodyParser | None) -> GetResult:
    headers = response_headers(response)
    header_request_id = headers.get("x-obs-request-id")
    if header_request_id is None:
        header_request_id = headers.get("x-amz-request-id")
    common: dict[str, Any] = {
        "status": response.status_code,
        "reason": response.reason,
        "indicator": headers.get("x-reserved-indicator"),
        "header": renamed_headers(headers),
    }
    if response.status_code < 300:
        text = _decode(response.content) if response.content else ""
        body = parse_body(text) if parse_body is not None and text else None
        return GetResult(requestId=header_request_id, body=body, **common)
    if not response.content:
        return GetResult(requestId=header_request_id, **common)
    text = _decode(response.content)
    if _is_json(headers):
        parsed_json = _json_error(text)
        if parsed_json is None:
            return GetResult(requestId=header_request_id, **common)
        code, message, request_id = parsed_json
        return GetResult(
            errorCode=code, errorMessage=message, requestId=request_id or header_request_id,
            body=text, **common,
        )
    from handler.obs.xmlparse import parse_error, strip_default_namespace  # errors only

    text = strip_default_namespace(text)
    error = parse_error(text)
    if error is None:  # not XML at all (a proxy's HTML page): the SDK keeps no body either
        return GetResult(requestId=header_request_id, **common)
    return GetResult(
        errorCode=error.code,
        errorMessage=error.message,
        requestId=error.request_id or header_request_id,
        hostId=error.host_id,
        resource=error.resource,
        body=text,
        **common,
    )
