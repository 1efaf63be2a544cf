"""Turning an HTTP response into a GetResult, each field from the SDK's source (reference §5.9)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from handler.obs.model import GetResult

if TYPE_CHECKING:
    from requests import Response

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


def response_headers(response: Response) -> dict[str, str]:
    """Lower-cased names, and for a repeated header its last value, as the SDK keeps them."""
    raw = getattr(response.raw, "headers", None)
    pairs: Iterable[tuple[str, str]] = raw.items() if raw is not None else response.headers.items()
    return {name.lower(): value for name, value in pairs}


def renamed_headers(headers: dict[str, str]) -> list[tuple[str, str]]:
    """The SDK's ``header`` list: kept names as they are, x-obs-/x-amz- prefixes stripped."""
    renamed: list[tuple[str, str]] = []
    for name, value in headers.items():
        if name in KEPT_HEADERS:
            renamed.append((name, value))
            continue
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


def to_get_result(response: Response, parse_body: BodyParser | None = None) -> GetResult:
    """Build the GetResult for any HTTP status; only ``parse_body`` depends on the call."""
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
