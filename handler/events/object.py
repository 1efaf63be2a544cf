"""OBS object events: the four fields the janitor reads, from each shape they arrive in.

``Records[].s3`` (S3-style OBS trigger), ``Records[].obs`` (OBS trigger) and EventGrid's
CloudEvent with ``data.obs`` all name a bucket and a key; the key is URL-encoded (``+``
for space) by the OBS trigger, and by EventGrid when the trigger's Key_encode option is
on; ``OBJECT_EVENT_KEY_ENCODING`` says which (docs/functiongraph.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from handler.events.abandonment import MAX_KEY_LENGTH, check_bucket_name
from handler.events.errors import InvalidEvent, validate
from handler.obs.dates import parse_iso8601

if TYPE_CHECKING:
    from datetime import datetime

# An object event names one key per record; more than this in one event is no trigger's.
MAX_RECORDS = 100


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)


class _Bucket(_Model):
    name: str = Field(strict=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_bucket_name(value)


class _Object(_Model):
    # Encoded keys can be up to three times longer than the key itself.
    key: str = Field(strict=True, min_length=1, max_length=3 * MAX_KEY_LENGTH)


class _Entity(_Model):
    bucket: _Bucket
    object: _Object


class ObjectRecordModel(_Model):
    """One record: ``s3`` or ``obs`` names the object; the event's name and time."""

    eventName: str = Field(default="", strict=True, max_length=128)  # noqa: N815
    eventTime: str | None = Field(default=None, strict=True, max_length=64)  # noqa: N815
    s3: _Entity | None = None
    obs: _Entity | None = None

    @model_validator(mode="after")
    def _names_an_object(self) -> ObjectRecordModel:
        if self.s3 is None and self.obs is None:
            raise ValueError("a record needs s3 or obs")
        return self

    @property
    def entity(self) -> _Entity:
        entity = self.s3 or self.obs
        assert entity is not None  # the validator guarantees one
        return entity


class RecordsEvent(_Model):
    Records: list[ObjectRecordModel] = Field(min_length=1, max_length=MAX_RECORDS)


class CloudEvent(_Model):
    """EventGrid's CloudEvent around one OBS record (``data``)."""

    specversion: str = Field(strict=True)
    time: str | None = Field(default=None, strict=True, max_length=64)
    data: ObjectRecordModel


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """What an object event asks: clean up the orphans of ``key`` in ``bucket``."""

    bucket: str
    key: str
    event_name: str
    event_time: datetime | None

    @property
    def created(self) -> bool:
        return self.event_name.startswith(("ObjectCreated:", "s3:ObjectCreated:"))


def _record(model: ObjectRecordModel, cloud_time: str | None,
            encoding: Literal["url", "none"]) -> ObjectRecord:
    raw_key = model.entity.object.key
    key = unquote_plus(raw_key, errors="strict") if encoding == "url" else raw_key
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidEvent(f"object.key: must be 1-{MAX_KEY_LENGTH} characters once decoded")
    times = [t for t in (parse_iso8601(model.eventTime), parse_iso8601(cloud_time)) if t]
    # The earliest clock wins: a sample shows eventTime eight hours after the CloudEvent's
    # time, and trusting the later one would let young uploads pass as orphans.
    return ObjectRecord(model.entity.bucket.name, key, model.eventName, min(times, default=None))


def parse_object_event(event: dict[str, Any], encoding: Literal["url", "none"],
                       ) -> list[ObjectRecord]:
    """The records of an object event, validated; InvalidEvent names what is wrong."""
    try:
        if "Records" in event:
            parsed = validate(RecordsEvent, event, "object event")
            return [_record(r, None, encoding) for r in parsed.Records]
        cloud = validate(CloudEvent, event, "object event")
        return [_record(cloud.data, cloud.time, encoding)]
    except UnicodeDecodeError:
        raise InvalidEvent("object.key: is not valid URL-encoded UTF-8") from None
