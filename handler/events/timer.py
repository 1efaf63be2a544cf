"""Timer sweeps: the settings a TIMER event's ``user_event`` carries, and resume points.

``SweepSettings`` is what a sweep does; ``Cursor`` is one place in one listing (the only
resume-point type); a ``Continuation`` (cursor + settings) is what a sweep hands back when
its time runs out: ``continuation_of`` writes it and checks it with the very schema that
reads it on resume.

Validated by pydantic's validation core with the schemas below, not through
``BaseModel``s: pydantic's Python layer (``BaseModel``, schema generation, annotated-types,
importlib.metadata for plugins) costs a timer's start about 70 ms, as long as a sweep of
~40 uploads takes on a local server (docs/rgw.md). Each schema is the one pydantic
generates for the equivalent model, field for field (tests/support/timer_models.py);
tests/unit/test_timer_schemas.py holds them against those models input by input, so the
verdicts and errors read exactly as the models' did.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import ValidationError
from pydantic_core import core_schema as cs

from handler.events.abandonment import check_bucket_name
from handler.events.errors import InvalidEvent, describe, kind_of, parse_json_text, validate_with
from handler.events.schemas import after, field, nested, validator
from handler.settings import ConfigError, parse_duration

if TYPE_CHECKING:
    from collections.abc import Mapping

# Without SWEEP_MIN_AGE_FLOOR, an age below this needs ``force`` (demos, tests): below an
# hour an upload may simply be slow.
DEFAULT_AGE_FLOOR = timedelta(hours=1)
MAX_PREFIX_LENGTH = 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class SweepSettings:
    """What a timer sweep does. Buckets must also be in ALLOWED_BUCKETS (checked later);
    counts and flags are strict: ``true`` is not 1 and ``"yes"`` is not true."""

    buckets: list[str]
    prefixes: list[str] = dataclasses.field(default_factory=lambda: [""])
    exclude_prefixes: list[str] = dataclasses.field(default_factory=list)
    min_age: str = "24h"
    force: bool = False
    dry_run: bool = False
    max_aborts: int | None = None
    # 32: at 20 ms RTT and ~1 ms of client CPU per request, the RTT bound (25 x c
    # uploads/s at two requests each) meets the single-core bound (~500/s) near c = 20;
    # 32 is the least that stays CPU-bound up to ~32 ms RTT (bench/RESULTS.md).
    concurrency: int = 32
    initiator: str | None = None
    check_activity: bool = True
    verify_aborts: bool = True
    # "listing": one re-listing of each page's key range confirms its aborts;
    # "parts": one ListParts per aborted upload (the older, costlier check).
    verify_mode: Literal["listing", "parts"] = "listing"
    max_consecutive_failures: int = 10
    # Fan-out (handler/fanout/): plan shards and run them as asynchronous invocations.
    mode: Literal["direct", "fanout", "inventory"] = "direct"
    shards: list[str] | None = None
    max_in_flight: int = 10

    @property
    def age(self) -> timedelta:
        return parse_duration(self.min_age)

    def to_dict(self) -> dict[str, Any]:
        """Every field, as a continuation or a chain event carries the settings."""
        return _fields_of_dataclass(self, skip_defaults=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class Cursor:
    """A place in the listing of (bucket, prefix): resume after these markers.

    With a delimiter, only the uploads directly under the prefix (a fan-out root shard).
    """

    bucket: str
    prefix: str = ""
    key_marker: str | None = None
    upload_id_marker: str | None = None
    delimiter: str | None = None

    def after(self, key_marker: str | None, upload_id_marker: str | None) -> Cursor:
        """The same listing, resumed after these markers."""
        return dataclasses.replace(self, key_marker=key_marker,
                                   upload_id_marker=upload_id_marker)

    def to_dict(self, *, skip_defaults: bool = False) -> dict[str, Any]:
        """The fields in order; ``skip_defaults`` leaves out those at their default."""
        return _fields_of_dataclass(self, skip_defaults=skip_defaults)


@dataclass(frozen=True, kw_only=True, slots=True)
class Continuation(Cursor):
    """Where a timer sweep stopped, with the settings it ran under."""

    settings: SweepSettings
    # An inventory's counts so far (handler/inventory/aggregate.py, Inventory.to_dict).
    inventory: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TimerEvent:
    """A FunctionGraph TIMER trigger event; only ``user_event`` is read."""

    trigger_type: Literal["TIMER"]
    user_event: Any = None


def continuation_of(cursor: Cursor, settings: SweepSettings,
                    inventory: dict[str, Any] | None = None) -> dict[str, Any]:
    """The continuation a reply hands back: where to resume, and under which settings.

    Checked by the schema that reads it on resume, so that what a sweep hands back is
    what its next invocation accepts (a marker longer than a listing may carry raises
    ValidationError here, not a refusal in the next invocation).
    """
    # A Cursor's own fields only (a fan-out Task is one too), and no delimiter: direct
    # sweeps and inventories, the two that hand back continuations, list without one.
    written = {"bucket": cursor.bucket, "prefix": cursor.prefix,
               "key_marker": cursor.key_marker, "upload_id_marker": cursor.upload_id_marker,
               "settings": settings.to_dict(), "inventory": inventory}
    _CONTINUATION.validate_python(written)
    return written


# -- the schemas ----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _fields_of_dataclass(item: Any, *, skip_defaults: bool) -> dict[str, Any]:
    values = {}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        if skip_defaults and f.default is not dataclasses.MISSING and value == f.default:
            continue
        values[f.name] = _plain(value)
    return values


def _strict_int(ge: int, le: int) -> cs.CoreSchema:
    return cs.int_schema(strict=True, ge=ge, le=le)


_STRICT_BOOL = cs.bool_schema(strict=True)


def _bucket_names(value: list[str]) -> list[str]:
    return [check_bucket_name(name) for name in value]


def _prefixes(value: list[str]) -> list[str]:
    if any(len(prefix) > MAX_PREFIX_LENGTH for prefix in value):
        raise ValueError("a prefix is at most 1024 characters")
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _age_floor(fields: dict[str, Any]) -> dict[str, Any]:
    if parse_duration(fields["min_age"]) < DEFAULT_AGE_FLOOR and not fields["force"]:
        raise ValueError("min_age below 1h is refused unless force is true")
    return fields


def _str_list(*, min_length: int | None = None, max_length: int | None = None
              ) -> cs.CoreSchema:
    return cs.list_schema(cs.str_schema(), min_length=min_length, max_length=max_length)


_SETTINGS_FIELDS: dict[str, cs.TypedDictField] = {
    "buckets": field(after(_bucket_names, _str_list(min_length=1, max_length=100))),
    "prefixes": field(after(_prefixes, _str_list(min_length=1, max_length=100)),
                       factory=lambda: [""]),
    "exclude_prefixes": field(after(_prefixes, _str_list(max_length=100)), factory=list),
    "min_age": field(after(_duration, cs.str_schema(strict=True, max_length=40)), "24h"),
    "force": field(_STRICT_BOOL, False),
    "dry_run": field(_STRICT_BOOL, False),
    "max_aborts": field(cs.nullable_schema(_strict_int(0, 10_000_000)), None),
    "concurrency": field(_strict_int(1, 64), 32),
    "initiator": field(cs.nullable_schema(cs.str_schema(strict=True, max_length=256)), None),
    "check_activity": field(_STRICT_BOOL, True),
    "verify_aborts": field(_STRICT_BOOL, True),
    "verify_mode": field(cs.literal_schema(["listing", "parts"]), "listing"),
    "max_consecutive_failures": field(_strict_int(1, 10_000), 10),
    "mode": field(cs.literal_schema(["direct", "fanout", "inventory"]), "direct"),
    "shards": field(cs.nullable_schema(_str_list(max_length=10_000)), None),
    "max_in_flight": field(_strict_int(1, 100), 10),
}
SETTINGS_SCHEMA = after(
    lambda fields: SweepSettings(**_age_floor(fields)),
    cs.typed_dict_schema(_SETTINGS_FIELDS, extra_behavior="forbid"))

CURSOR_FIELDS: dict[str, cs.TypedDictField] = {
    "bucket": field(after(check_bucket_name, cs.str_schema())),
    "prefix": field(cs.str_schema(max_length=MAX_PREFIX_LENGTH), ""),
    "key_marker": field(cs.nullable_schema(cs.str_schema(max_length=1024)), None),
    "upload_id_marker": field(cs.nullable_schema(cs.str_schema(max_length=256)), None),
    "delimiter": field(cs.nullable_schema(cs.str_schema(max_length=1)), None),
}


def _within_settings(fields: dict[str, Any]) -> Continuation:
    settings: SweepSettings = fields["settings"]
    if fields["bucket"] not in settings.buckets or fields["prefix"] not in settings.prefixes:
        raise ValueError("bucket and prefix must be among the settings' buckets and prefixes")
    return Continuation(**fields)


_CONTINUATION_SCHEMA = after(_within_settings, cs.typed_dict_schema(
    {**CURSOR_FIELDS,
     "settings": field(nested("SweepSettings", SETTINGS_SCHEMA)),
     "inventory": field(
         cs.nullable_schema(cs.dict_schema(cs.str_schema(), cs.any_schema())), None)},
    extra_behavior="ignore"))
_TIMER_EVENT_SCHEMA = after(lambda fields: TimerEvent(**fields), cs.typed_dict_schema(
    {"trigger_type": field(cs.literal_schema(["TIMER"])),
     "user_event": field(cs.any_schema(), None)},
    extra_behavior="ignore"))


_SETTINGS = validator(SETTINGS_SCHEMA, "SweepSettings")
_CONTINUATION = validator(_CONTINUATION_SCHEMA, "Continuation")
_TIMER_EVENT = validator(_TIMER_EVENT_SCHEMA, "TimerEvent")


# -- reading events -------------------------------------------------------------------


def read_settings(data: Any) -> SweepSettings:
    """Sweep settings from a mapping; raises pydantic-core's ValidationError."""
    settings: SweepSettings = _SETTINGS.validate_python(data)
    return settings


def read_timer_event(data: Any) -> TimerEvent:
    event: TimerEvent = validate_with(_TIMER_EVENT.validate_python, data, "timer event")
    return event


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
        return read_settings(merged), None
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
    continuation: Continuation = validate_with(_CONTINUATION.validate_python, data,
                                               "continuation")
    return continuation
