"""Sweep settings: the timer's ``user_event`` merged over environment defaults, validated.

Also the continuation a sweep hands back when its time runs out, and reads on resume.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from handler.events import InvalidEvent, check_bucket_name, describe
from handler.settings import lookup

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Environment (or user data) defaults under which a timer's user_event is merged.
ENV_DEFAULTS = {
    "buckets": "SWEEP_BUCKETS", "prefixes": "SWEEP_PREFIXES",
    "exclude_prefixes": "SWEEP_EXCLUDE_PREFIXES", "min_age": "SWEEP_MIN_AGE",
    "dry_run": "SWEEP_DRY_RUN", "max_aborts": "SWEEP_MAX_ABORTS",
    "concurrency": "SWEEP_CONCURRENCY", "initiator": "SWEEP_INITIATOR",
    "check_activity": "SWEEP_CHECK_ACTIVITY", "verify_aborts": "SWEEP_VERIFY_ABORTS",
    "max_consecutive_failures": "SWEEP_MAX_CONSECUTIVE_FAILURES",
    "mode": "SWEEP_MODE", "max_in_flight": "FANOUT_MAX_IN_FLIGHT",
}
_LIST_SETTINGS = ("buckets", "prefixes", "exclude_prefixes")


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"24h"``, ``"7d"``, ``"1h30m"`` as a timedelta."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"{text!r} is not a duration such as 90m, 24h or 7d")
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(compact)))


class SweepSettings(BaseModel):
    """What a timer sweep does. Buckets must also be in ALLOWED_BUCKETS (checked later)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    buckets: list[str] = Field(min_length=1, max_length=100)
    prefixes: list[str] = Field(default_factory=lambda: [""], min_length=1, max_length=100)
    exclude_prefixes: list[str] = Field(default_factory=list, max_length=100)
    min_age: str = "24h"
    force: bool = False
    dry_run: bool = False
    max_aborts: int | None = Field(default=None, ge=0)
    concurrency: int = Field(default=16, ge=1, le=64)
    initiator: str | None = None
    check_activity: bool = True
    verify_aborts: bool = True
    max_consecutive_failures: int = Field(default=10, ge=1, le=10_000)
    # Fan-out (handler/fanout.py): plan shards and run them as asynchronous invocations.
    mode: Literal["direct", "fanout"] = "direct"
    shards: list[str] | None = Field(default=None, max_length=10_000)
    max_in_flight: int = Field(default=10, ge=1, le=100)

    @field_validator("buckets")
    @classmethod
    def _bucket_names(cls, value: list[str]) -> list[str]:
        return [check_bucket_name(name) for name in value]

    @field_validator("min_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _age_floor(self) -> SweepSettings:
        # Aborting destroys data: below an hour, an upload may simply be slow.
        if self.age < timedelta(hours=1) and not self.force:
            raise ValueError("min_age below 1h is refused unless force is true")
        return self

    @property
    def age(self) -> timedelta:
        return parse_duration(self.min_age)


class Continuation(BaseModel):
    """Where a sweep stopped: resume listing (bucket, prefix) after these markers."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    bucket: str
    prefix: str = ""
    key_marker: str | None = None
    upload_id_marker: str | None = None
    settings: SweepSettings

    @model_validator(mode="after")
    def _within_settings(self) -> Continuation:
        if self.bucket not in self.settings.buckets or self.prefix not in self.settings.prefixes:
            raise ValueError("bucket and prefix must be among the settings' buckets and prefixes")
        return self


def _env_defaults(context: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for field, name in ENV_DEFAULTS.items():
        raw = lookup(context, name)
        if raw is None:
            continue
        if field in _LIST_SETTINGS:
            defaults[field] = [part.strip() for part in raw.split(",")] if raw != '""' else [""]
        else:
            defaults[field] = raw
    return defaults


def _validate_settings(data: Any) -> SweepSettings:
    try:
        return SweepSettings.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(f"sweep settings: {describe(exc, 'settings')}") from None


def from_timer(event: dict[str, Any], context: Any) -> tuple[SweepSettings, Continuation | None]:
    """Settings of a TIMER event: its ``user_event`` JSON over the environment defaults."""
    raw = event.get("user_event")
    try:
        user = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        raise InvalidEvent("user_event is not a JSON object") from None
    if not isinstance(user, dict):
        raise InvalidEvent("user_event is not a JSON object")
    if user.get("continuation") is not None:
        continuation = from_continuation(user["continuation"])
        return continuation.settings, continuation
    return _validate_settings({**_env_defaults(context), **user}), None


def from_continuation(data: Any) -> Continuation:
    """A continuation handed back by an earlier sweep (settings travel inside it)."""
    try:
        return Continuation.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(f"continuation: {describe(exc, 'continuation')}") from None
