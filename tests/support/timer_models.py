"""The timer and fan-out events as pydantic ``BaseModel``s: the oracle for the core schemas.

handler/events/timer.py and handler/events/fanout.py validate with hand-built
pydantic-core schemas, to keep pydantic's Python layer (about 70 ms of imports and model
building) off the timer's start. These are the models those schemas stand for, written
the ordinary way; tests/unit/test_timer_schemas.py holds the two against each other input
by input: same verdict, same values, same error text. The classes keep the names of
the models they were, because pydantic puts a nested model's name in its messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from handler.events.abandonment import check_bucket_name
from handler.events.timer import DEFAULT_AGE_FLOOR
from handler.settings import parse_duration


class SweepSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    buckets: list[str] = Field(min_length=1, max_length=100)
    prefixes: list[str] = Field(default_factory=lambda: [""], min_length=1, max_length=100)
    exclude_prefixes: list[str] = Field(default_factory=list, max_length=100)
    min_age: str = Field(default="24h", strict=True, max_length=40)
    force: bool = Field(default=False, strict=True)
    dry_run: bool = Field(default=False, strict=True)
    max_aborts: int | None = Field(default=None, ge=0, le=10_000_000, strict=True)
    concurrency: int = Field(default=32, ge=1, le=64, strict=True)
    initiator: str | None = Field(default=None, strict=True, max_length=256)
    check_activity: bool = Field(default=True, strict=True)
    verify_aborts: bool = Field(default=True, strict=True)
    verify_mode: Literal["listing", "parts"] = "listing"
    max_consecutive_failures: int = Field(default=10, ge=1, le=10_000, strict=True)
    mode: Literal["direct", "fanout", "inventory"] = "direct"
    shards: list[str] | None = Field(default=None, max_length=10_000)
    max_in_flight: int = Field(default=10, ge=1, le=100, strict=True)

    @field_validator("buckets")
    @classmethod
    def _bucket_names(cls, value: list[str]) -> list[str]:
        return [check_bucket_name(name) for name in value]

    @field_validator("prefixes", "exclude_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        if any(len(prefix) > 1024 for prefix in value):
            raise ValueError("a prefix is at most 1024 characters")
        return value

    @field_validator("min_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _age_floor(self) -> SweepSettings:
        if parse_duration(self.min_age) < DEFAULT_AGE_FLOOR and not self.force:
            raise ValueError("min_age below 1h is refused unless force is true")
        return self


class Cursor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    bucket: str
    prefix: str = Field(default="", max_length=1024)
    key_marker: str | None = Field(default=None, max_length=1024)
    upload_id_marker: str | None = Field(default=None, max_length=256)
    delimiter: str | None = Field(default=None, max_length=1)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return check_bucket_name(value)


class Continuation(Cursor):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    settings: SweepSettings
    inventory: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _within_settings(self) -> Continuation:
        if self.bucket not in self.settings.buckets or self.prefix not in self.settings.prefixes:
            raise ValueError("bucket and prefix must be among the settings' buckets and prefixes")
        return self


class TimerEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    trigger_type: Literal["TIMER"]
    user_event: Any = None


class Task(Cursor):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    plan: bool = False


class ChainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    chain: int = Field(ge=0, le=1000, strict=True)
    seq: int = Field(ge=0, le=1_000_000, strict=True)
    tasks: list[Task] = Field(min_length=1, max_length=10_000)
    settings: SweepSettings
