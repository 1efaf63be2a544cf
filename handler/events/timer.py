"""Timer sweeps: the settings a TIMER event's ``user_event`` carries, and resume points.

``SweepSettings`` is what a sweep does; ``Cursor`` is one place in one listing (the only
resume-point type); a ``Continuation`` (cursor + settings) is what a sweep hands back when
its time runs out, and the very model that reads it on resume writes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from handler.events.abandonment import check_bucket_name
from handler.events.errors import InvalidEvent, describe, kind_of, parse_json_text, validate
from handler.settings import ConfigError, parse_duration

if TYPE_CHECKING:
    from collections.abc import Mapping

# Without SWEEP_MIN_AGE_FLOOR, an age below this needs ``force`` (demos, tests): below an
# hour an upload may simply be slow.
DEFAULT_AGE_FLOOR = timedelta(hours=1)


class SweepSettings(BaseModel):
    """What a timer sweep does. Buckets must also be in ALLOWED_BUCKETS (checked later);
    counts and flags are strict: ``true`` is not 1 and ``"yes"`` is not true."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    buckets: list[str] = Field(min_length=1, max_length=100)
    prefixes: list[str] = Field(default_factory=lambda: [""], min_length=1, max_length=100)
    exclude_prefixes: list[str] = Field(default_factory=list, max_length=100)
    min_age: str = Field(default="24h", strict=True, max_length=40)
    force: bool = Field(default=False, strict=True)
    dry_run: bool = Field(default=False, strict=True)
    max_aborts: int | None = Field(default=None, ge=0, le=10_000_000, strict=True)
    # 32: at 20 ms RTT and ~1 ms of client CPU per request, the RTT bound (25 x c
    # uploads/s at two requests each) meets the single-core bound (~500/s) near c = 20;
    # 32 is the least that stays CPU-bound up to ~32 ms RTT (bench/RESULTS.md).
    concurrency: int = Field(default=32, ge=1, le=64, strict=True)
    initiator: str | None = Field(default=None, strict=True, max_length=256)
    check_activity: bool = Field(default=True, strict=True)
    verify_aborts: bool = Field(default=True, strict=True)
    # "listing": one re-listing of each page's key range confirms its aborts;
    # "parts": one ListParts per aborted upload (the older, costlier check).
    verify_mode: Literal["listing", "parts"] = "listing"
    max_consecutive_failures: int = Field(default=10, ge=1, le=10_000, strict=True)
    # Fan-out (handler/fanout/): plan shards and run them as asynchronous invocations.
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
        if self.age < DEFAULT_AGE_FLOOR and not self.force:
            raise ValueError("min_age below 1h is refused unless force is true")
        return self

    @property
    def age(self) -> timedelta:
        return parse_duration(self.min_age)


class Cursor(BaseModel):
    """A place in the listing of (bucket, prefix): resume after these markers.

    With a delimiter, only the uploads directly under the prefix (a fan-out root shard).
    """

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

    def after(self, key_marker: str | None, upload_id_marker: str | None) -> Cursor:
        """The same listing, resumed after these markers."""
        return self.model_copy(update={"key_marker": key_marker,
                                       "upload_id_marker": upload_id_marker})


class Continuation(Cursor):
    """Where a timer sweep stopped, with the settings it ran under."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    settings: SweepSettings
    # An inventory's counts so far (handler/inventory/aggregate.py, Inventory.to_dict).
    inventory: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _within_settings(self) -> Continuation:
        if self.bucket not in self.settings.buckets or self.prefix not in self.settings.prefixes:
            raise ValueError("bucket and prefix must be among the settings' buckets and prefixes")
        return self


class TimerEvent(BaseModel):
    """A FunctionGraph TIMER trigger event; only ``user_event`` is read."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    trigger_type: Literal["TIMER"]
    user_event: Any = None


def read_user_event(event: TimerEvent) -> dict[str, Any]:
    """``user_event`` as an object: JSON text or the object itself; empty means {}."""
    raw = event.user_event
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    user = parse_json_text(raw, "user_event")
    if not isinstance(user, dict):
        raise InvalidEvent(f"user_event: must be a JSON object, not {kind_of(user)}")
    return user


def timer_settings(
    event: TimerEvent, defaults: Mapping[str, Any], origins: Mapping[str, str],
) -> tuple[SweepSettings, Continuation | None]:
    """The settings of a TIMER event: its ``user_event`` over the environment's defaults.

    A problem with a value the event gave is the event's (InvalidEvent); a problem with a
    default is the configuration's (ConfigError naming the variable in ``origins``).
    """
    user = read_user_event(event)
    if user.get("continuation") is not None:
        continuation = read_continuation(user["continuation"])
        return continuation.settings, continuation
    merged = {**defaults, **user}
    try:
        return SweepSettings.model_validate(merged), None
    except ValidationError as exc:
        fields = _fields_of(exc)
        blamed = sorted(origins[f] for f in fields if f in origins and f not in user)
        if blamed and not fields & set(user):
            raise ConfigError(f"{', '.join(blamed)}: {describe(exc, 'settings')}") from None
        raise InvalidEvent(f"user_event: {describe(exc, 'settings')}") from None


def _fields_of(error: ValidationError) -> set[str]:
    """The settings a validation error is about; a model-level one (the age floor) is
    about min_age and force together."""
    fields: set[str] = set()
    for item in error.errors(include_url=False, include_input=False):
        fields.update([str(item["loc"][0])] if item["loc"] else ["min_age", "force"])
    return fields


def read_continuation(data: Any) -> Continuation:
    """A continuation handed back by an earlier sweep (its settings travel inside it)."""
    return validate(Continuation, data, "continuation")
