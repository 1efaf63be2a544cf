"""Abandonment events: one upload that its uploader gave up on, or a batch of them.

Validated by pydantic's validation core (``pydantic_core``) with the schema below, not
through a ``BaseModel``: an abort is the route whose cold start a caller waits on, and
pydantic's Python layer (``BaseModel``, its schema generation, annotated-types,
importlib.metadata for plugins) costs a first event more instructions than the whole
official SDK does (bench/RESULTS.md, "Cold start"). The schema is what pydantic generates
for the equivalent model, field for field; tests/unit/test_abandonment.py holds it
against that model, input by input, so errors read exactly as a model's would.

The schema ignores unknown fields and never echoes its input in errors, so a validation
message cannot leak what a caller sent (a token pasted in the wrong field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic_core import core_schema as cs

from handler.events.errors import InvalidEvent, kind_of, validate_with
from handler.events.schemas import validator

# A batch is at most this many uploads, however it is wrapped (APIG, SMN records, ...):
# one invocation must finish within its timeout and reply within 6 MB.
MAX_BATCH = 1000
MAX_KEY_LENGTH = 1024
MAX_REASON_LENGTH = 1024
MAX_EXTENSION_HEADERS = 20
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_OBS_UPLOAD_ID = re.compile(r"[A-Za-z0-9]{32}")
_RELAXED_UPLOAD_ID = re.compile(r"[A-Za-z0-9._~+/=-]{1,256}")
# Header names are ASCII by HTTP's grammar; checked on the name as sent, because
# str.lower() maps some non-ASCII letters (the Kelvin sign) onto ASCII ones.
_HEADER_NAME = re.compile(r"x-obs-[a-z0-9-]+", re.ASCII | re.IGNORECASE)
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
# Headers an event may never set: they would rewrite or re-sign the request.
_FORBIDDEN_HEADERS = frozenset({"x-obs-security-token", "x-obs-date"})


def check_bucket_name(value: str) -> str:
    """OBS bucket naming rules (OBS docs, "Bucket naming rules")."""
    if not _BUCKET.fullmatch(value):
        raise ValueError(
            "must be 3-63 characters of lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    if ".." in value or ".-" in value or "-." in value:
        raise ValueError("must not contain '..', '.-' or '-.'")
    if _IPV4.fullmatch(value):
        raise ValueError("must not be formatted as an IP address")
    return value


def check_upload_id(value: str, *, relaxed: bool) -> str:
    if relaxed:
        if not _RELAXED_UPLOAD_ID.fullmatch(value):
            raise ValueError("must be 1-256 URL-safe characters")
    elif not _OBS_UPLOAD_ID.fullmatch(value):
        raise ValueError(
            "must be 32 letters and digits (OBS's format; set UPLOAD_ID_FORMAT=relaxed "
            "for S3-compatible servers)"
        )
    return value


def check_extension_headers(value: dict[str, str] | None) -> dict[str, str] | None:
    for name, header_value in (value or {}).items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError("only x-obs-* header names of ASCII letters, digits and '-'")
        if name.lower() in _FORBIDDEN_HEADERS:
            raise ValueError(f"{name.lower()} may not be set by an event")
        if not _HEADER_VALUE.fullmatch(header_value):
            raise ValueError("header values must be printable ASCII")
    return value


def _upload_id(value: str, info: cs.ValidationInfo) -> str:
    relaxed = bool(info.context and info.context.get("relaxed_upload_id"))
    return check_upload_id(value, relaxed=relaxed)


@dataclass(frozen=True, slots=True)
class AbandonedUpload:
    """One multipart upload that its uploader gave up on (field names as the SDK's)."""

    bucket: str
    objectKey: str  # noqa: N815 - the SDK's parameter name
    uploadId: str  # noqa: N815 - the SDK's parameter name
    reason: str | None = None
    extensionHeaders: dict[str, str] | None = None  # noqa: N815 - the SDK's parameter name


def _required(schema: cs.CoreSchema, *aliases: str) -> cs.TypedDictField:
    """A required field, read from the first of ``aliases`` present (as AliasChoices)."""
    paths: list[list[str | int]] = [[alias] for alias in aliases]
    return cs.typed_dict_field(schema, required=True, validation_alias=paths)


def _optional(schema: cs.CoreSchema) -> cs.TypedDictField:
    """An optional field: null or absent is None."""
    return cs.typed_dict_field(
        cs.with_default_schema(cs.nullable_schema(schema), default=None), required=False)


_TEXT = cs.str_schema(strict=True)
ABANDONED_UPLOAD_SCHEMA = cs.typed_dict_schema(
    {
        "bucket": _required(cs.no_info_after_validator_function(check_bucket_name, _TEXT),
                            "bucket", "bucketName", "bucket_name"),
        "objectKey": _required(
            cs.str_schema(min_length=1, max_length=MAX_KEY_LENGTH, strict=True),
            "objectKey", "key", "object_key"),
        "uploadId": _required(cs.with_info_after_validator_function(_upload_id, _TEXT),
                              "uploadId", "upload_id"),
        "reason": _optional(cs.str_schema(max_length=MAX_REASON_LENGTH, strict=True)),
        "extensionHeaders": _optional(cs.no_info_after_validator_function(
            check_extension_headers,
            cs.dict_schema(cs.str_schema(), cs.str_schema(), max_length=MAX_EXTENSION_HEADERS,
                           strict=True))),
    },
    extra_behavior="ignore",
)
_VALIDATOR = validator(ABANDONED_UPLOAD_SCHEMA, "upload")


def parse_upload(item: Any, *, relaxed_upload_id: bool) -> AbandonedUpload:
    """Validate one abandonment item; raise InvalidEvent naming every bad field."""
    if not isinstance(item, dict):
        raise InvalidEvent(f"an upload must be a JSON object, not {kind_of(item)}")
    fields = validate_with(_VALIDATOR.validate_python, item, "upload",
                           {"relaxed_upload_id": relaxed_upload_id})
    return AbandonedUpload(**fields)


def fingerprint(item: Any) -> str:
    """A short digest of an item, so log lines about an invalid one can be matched to the
    caller's copy without holding anything it contained."""
    import hashlib
    import json

    try:
        text = json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(item).__name__
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def identify(item: Any, *, relaxed_upload_id: bool) -> dict[str, str | None]:
    """Bucket, key and uploadId of an item that failed validation, for its report entry.

    Only values that are valid on their own are given back: an invalid one may be
    anything a caller pasted (a token, a secret), so it is reported as null, never raw.
    """
    def pick(check: Any, *names: str) -> str | None:
        if not isinstance(item, dict):
            return None
        for name in names:
            value = item.get(name)
            if isinstance(value, str):
                try:
                    return str(check(value))
                except ValueError:
                    return None
        return None

    def key(value: str) -> str:
        if not 1 <= len(value) <= MAX_KEY_LENGTH:
            raise ValueError("length")
        return value

    return {
        "bucket": pick(check_bucket_name, "bucket", "bucketName", "bucket_name"),
        "objectKey": pick(key, "objectKey", "key", "object_key"),
        "uploadId": pick(lambda v: check_upload_id(v, relaxed=relaxed_upload_id),
                         "uploadId", "upload_id"),
    }
