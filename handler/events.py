"""Pydantic models of the abandonment events: one upload, or a batch of them.

Models are frozen, ignore unknown fields and never echo their input in errors, so a
validation message cannot leak what a caller sent (a token pasted in the wrong field).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

MAX_BATCH = 1000
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_OBS_UPLOAD_ID = re.compile(r"[A-Za-z0-9]{32}")
_RELAXED_UPLOAD_ID = re.compile(r"[A-Za-z0-9._~+/=-]{1,256}")
# Headers an event may never set: they would rewrite or re-sign the request.
_FORBIDDEN_HEADERS = frozenset({"x-obs-security-token", "x-obs-date"})


class InvalidEvent(Exception):  # noqa: N818 - named after the errorCode it produces
    """The event (or one batch item) failed validation; the message lists every problem."""


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
        min_length=1, max_length=1024, strict=True,
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
        if relaxed:
            if not _RELAXED_UPLOAD_ID.fullmatch(value):
                raise ValueError("must be 1-256 URL-safe characters")
        elif not _OBS_UPLOAD_ID.fullmatch(value):
            raise ValueError(
                "must be 32 letters and digits (OBS's format; set UPLOAD_ID_FORMAT=relaxed "
                "for S3-compatible servers)"
            )
        return value

    @field_validator("extensionHeaders")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, header_value in (value or {}).items():
            lowered = name.lower()
            if not lowered.startswith("x-obs-") or not re.fullmatch(r"[a-z0-9-]+", lowered):
                raise ValueError("only x-obs-* header names are accepted")
            if lowered in _FORBIDDEN_HEADERS:
                raise ValueError(f"{lowered} may not be set by an event")
            if any(ch in header_value for ch in "\r\n\x00"):
                raise ValueError("header values may not contain CR, LF or NUL")
        return value


def describe(error: ValidationError, whole: str = "event") -> str:
    """Every problem of a validation error as ``field: why``; never the input itself."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or whole
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse_upload(item: Any, *, relaxed_upload_id: bool) -> AbandonedUpload:
    """Validate one abandonment item; raise InvalidEvent naming every bad field."""
    if not isinstance(item, dict):
        raise InvalidEvent(f"an upload must be a JSON object, not {type(item).__name__}")
    try:
        context = {"relaxed_upload_id": relaxed_upload_id}
        return AbandonedUpload.model_validate(item, context=context)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc)) from None


def identify(item: Any) -> dict[str, str | None]:
    """Best-effort bucket/key/uploadId of an item, for reporting one that failed validation."""
    def pick(*names: str) -> str | None:
        if not isinstance(item, dict):
            return None
        for name in names:
            value = item.get(name)
            if isinstance(value, str):
                return value[:1024]
        return None

    return {
        "bucket": pick("bucket", "bucketName", "bucket_name"),
        "objectKey": pick("objectKey", "key", "object_key"),
        "uploadId": pick("uploadId", "upload_id"),
    }
