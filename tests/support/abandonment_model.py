"""The abandonment event as a pydantic ``BaseModel``: the oracle for the core schema.

handler/events/abandonment.py validates with a hand-built pydantic-core schema, to keep
pydantic's Python layer off the abort path's cold start. This is the model that schema
stands for, written the ordinary way; tests hold the two against each other input by
input, and use this one as the independent judge of what is a valid upload.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from handler.events.abandonment import (
    MAX_EXTENSION_HEADERS,
    MAX_KEY_LENGTH,
    MAX_REASON_LENGTH,
    check_bucket_name,
    check_extension_headers,
    check_upload_id,
)


class AbandonedUploadModel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", hide_input_in_errors=True, populate_by_name=True
    )

    bucket: str = Field(
        validation_alias=AliasChoices("bucket", "bucketName", "bucket_name"), strict=True
    )
    objectKey: str = Field(
        validation_alias=AliasChoices("objectKey", "key", "object_key"),
        min_length=1, max_length=MAX_KEY_LENGTH, strict=True,
    )
    uploadId: str = Field(
        validation_alias=AliasChoices("uploadId", "upload_id"), strict=True
    )
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH, strict=True)
    extensionHeaders: dict[str, str] | None = Field(
        default=None, max_length=MAX_EXTENSION_HEADERS, strict=True
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
        return check_extension_headers(value)
