"""Abandonment events: one upload that its uploader gave up on, or a batch of them.

Models are frozen, ignore unknown fields and never echo their input in errors, so a
validation message cannot leak what a caller sent (a token pasted in the wrong field).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from handler.events.errors import InvalidEvent, kind_of, validate

# A batch is at most this many uploads, however it is wrapped (APIG, SMN records, ...):
# one invocation must finish within its timeout and reply within 6 MB.
MAX_BATCH = 1000
MAX_KEY_LENGTH = 1024
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


class AbandonedUpload(BaseModel):
    """One multipart upload that its uploader gave up on."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", hide_input_in_errors=True, populate_by_name=True
    )

    bucket: str = Field(
        validation_alias=AliasChoices("bucket", "bucketName", "bucket_name"), strict=True
    )
    objectKey: str = Field(  # noqa: N815 - the SDK's parameter name
        validation_alias=AliasChoices("objectKey", "key", "object_key"),
        min_length=1, max_length=MAX_KEY_LENGTH, strict=True,
    )
    uploadId: str = Field(  # noqa: N815 - the SDK's parameter name
        validation_alias=AliasChoices("uploadId", "upload_id"), strict=True
    )
    reason: str | None = Field(default=None, max_length=1024, strict=True)
    extensionHeaders: dict[str, str] | None = Field(  # noqa: N815 - the SDK's parameter name
        default=None, max_length=20, strict=True
    )

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return check_bucket_name(value)

    @field_validator("uploadId")
    @classmethod
    def _upload_id(cls, value: str, info: ValidationInfo) -> str:
        relaxed = bool(info.context and info.context.get("relaxed_upload_id"))
        return check_upload_id(value, relaxed=relaxed)

    @field_validator("extensionHeaders")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, header_value in (value or {}).items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError("only x-obs-* header names of ASCII letters, digits and '-'")
            if name.lower() in _FORBIDDEN_HEADERS:
                raise ValueError(f"{name.lower()} may not be set by an event")
            if not _HEADER_VALUE.fullmatch(header_value):
                raise ValueError("header values must be printable ASCII")
        return value


def parse_upload(item: Any, *, relaxed_upload_id: bool) -> AbandonedUpload:
    """Validate one abandonment item; raise InvalidEvent naming every bad field."""
    if not isinstance(item, dict):
        raise InvalidEvent(f"an upload must be a JSON object, not {kind_of(item)}")
    return validate(AbandonedUpload, item, "upload", {"relaxed_upload_id": relaxed_upload_id})


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
