"""Every setting of the function, read once per invocation: user data, then environment.

One table (``VARIABLES``), one rule for flags (``1/true/yes/on`` and ``0/false/no/off``,
anything else refused), and every error a ``ConfigError`` naming its variable, never its
value. The endpoint and the bucket allow-list come from here and never from an event.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_DURATION = re.compile(r"(\d{1,9})([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Timer defaults: sweep setting -> variable; a timer's user_event is merged over them.
SWEEP_VARIABLES: dict[str, str] = {
    "buckets": "SWEEP_BUCKETS", "prefixes": "SWEEP_PREFIXES",
    "exclude_prefixes": "SWEEP_EXCLUDE_PREFIXES", "min_age": "SWEEP_MIN_AGE",
    "dry_run": "SWEEP_DRY_RUN", "max_aborts": "SWEEP_MAX_ABORTS",
    "concurrency": "SWEEP_CONCURRENCY", "initiator": "SWEEP_INITIATOR",
    "check_activity": "SWEEP_CHECK_ACTIVITY", "verify_aborts": "SWEEP_VERIFY_ABORTS",
    "verify_mode": "SWEEP_VERIFY_MODE",
    "max_consecutive_failures": "SWEEP_MAX_CONSECUTIVE_FAILURES",
    "mode": "SWEEP_MODE", "max_in_flight": "FANOUT_MAX_IN_FLIGHT",
}
_SWEEP_LISTS = frozenset({"buckets", "prefixes", "exclude_prefixes"})
_SWEEP_FLAGS = frozenset({"dry_run", "check_activity", "verify_aborts"})
_SWEEP_COUNTS = frozenset({"max_aborts", "concurrency", "max_consecutive_failures",
                           "max_in_flight"})


# Every variable ``load_settings`` reads, for documentation checks and clean test runs.
VARIABLES = (
    "OBS_ENDPOINT", "OBS_REGION", "ALLOWED_BUCKETS", "UPLOAD_ID_FORMAT", "OBS_PATH_STYLE",
    "OBS_SIGNATURE", "OBS_MAX_RETRY_COUNT", "OBS_TIMEOUT_S", "SAFETY_MARGIN_MS",
    "BATCH_CONCURRENCY", "SWEEP_MAX_CLOCK_SKEW", "SWEEP_MIN_AGE_FLOOR", "OBJECT_EVENT_GRACE",
    "OBJECT_EVENT_FORCE", "OBJECT_EVENT_KEY_ENCODING", "FANOUT_FUNCTION_URN", "FANOUT_REGION",
    "FUNCTIONGRAPH_ENDPOINT", "STORAGE_PRICE_PER_GB_MONTH", "REPORT_BUCKET", "REPORT_PREFIX",
    *SWEEP_VARIABLES.values(),
)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it (never its secret value)."""


@dataclass(frozen=True, slots=True)
class FanoutTarget:
    """Where fan-out dispatches to, as configured (the runtime fills in the rest)."""

    function_urn: str | None = None
    region: str | None = None
    functiongraph_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration for one invocation."""

    endpoint: str
    allowed_buckets: frozenset[str] | Literal["*"] = frozenset()
    upload_id_format: Literal["obs", "relaxed"] = "obs"
    path_style: bool = False
    signature: Literal["obs", "v2"] | None = None
    max_retry_count: int = 3
    timeout_s: float = 30.0
    safety_margin_ms: int = 5000
    batch_concurrency: int = 16
    # The cautious clock: beyond this disagreement between OBS's Date and ours, a listing
    # aborts nothing (README, "Safety").
    max_clock_skew: timedelta = timedelta(minutes=15)
    # The operator's floor under every sweep's min_age; no event can lower it.
    min_age_floor: timedelta | None = None
    object_event_grace: timedelta = timedelta(hours=1)
    object_event_force: bool = False
    # How object events spell keys: "url" (the OBS trigger's and EventGrid's Key_encode
    # form, + for space) or "none" (EventGrid without Key_encode: keys as written).
    object_key_encoding: Literal["url", "none"] = "url"
    fanout: FanoutTarget = field(default_factory=FanoutTarget)
    storage_price_per_gb_month: float | None = None
    report_bucket: str | None = None
    report_prefix: str = "mpu-janitor/reports/"
    # Timer defaults, typed, with the variable each came from (for blaming the right one).
    sweep_defaults: Mapping[str, Any] = field(default_factory=dict)

    def bucket_allowed(self, bucket: str) -> bool:
        return self.allowed_buckets == "*" or bucket in self.allowed_buckets

    @property
    def relaxed_upload_id(self) -> bool:
        return self.upload_id_format == "relaxed"

    @property
    def sweep_origins(self) -> dict[str, str]:
        return {name: SWEEP_VARIABLES[name] for name in self.sweep_defaults}


def lookup(user_data: Callable[[str], Any], name: str) -> str | None:
    """A setting's raw text: the function's user data first, then the environment."""
    value = user_data(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


# -- one parser per kind of value; each names the variable it reads -------------------

def flag(name: str, raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}: must be one of 1/true/yes/on or 0/false/no/off")


def count(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        raise ConfigError(f"{name}: must be a whole number from {low} to {high}")
    return int(raw)


def number(name: str, raw: str | None, default: float | None, low: float, high: float,
           ) -> float | None:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise ConfigError(f"{name}: must be a number from {low:g} to {high:g}")
    return value


MAX_DURATION = timedelta(days=3650)  # beyond this no upload has an age: a typo


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"24h"``, ``"7d"``, ``"1h30m"`` as a timedelta (at most 3650 days)."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError("is not a duration such as 90m, 24h or 7d")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(compact))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


def duration(name: str, raw: str | None, default: timedelta | None) -> timedelta | None:
    if raw is None:
        return default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def choice(name: str, raw: str | None, options: tuple[str, ...]) -> str | None:
    if raw is None:
        return None
    if raw.lower() not in options:
        raise ConfigError(f"{name}: must be one of {', '.join(options)}")
    return raw.lower()


def endpoint_url(name: str, raw: str) -> str:
    value = raw.rstrip("/")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port or an unclosed [IPv6
    except ValueError:
        raise ConfigError(f"{name}: is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or (
            parts.query or parts.fragment or parts.username or not value.isascii()):
        raise ConfigError(f"{name}: must be a URL such as https://obs.cn-north-4.myhuaweicloud.com")
    return value


def region_name(name: str, raw: str | None) -> str | None:
    """A region such as cn-north-4: it becomes part of a host name, so nothing else."""
    if raw is not None and not re.fullmatch(r"[a-z]{2}(-[a-z0-9]+){1,4}", raw):
        raise ConfigError(f"{name}: must be a region name such as cn-north-4")
    return raw


def bucket_name(name: str, raw: str | None) -> str | None:
    """A bucket named by configuration: it becomes part of a host name, so OBS's rules."""
    if raw is not None and (not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", raw)
                            or ".." in raw or re.fullmatch(r"[\d.]+", raw)):
        raise ConfigError(f"{name}: must be a bucket name (3-63 lowercase letters, digits, "
                          "'-' and '.')")
    return raw


def _optional_url(name: str, raw: str | None) -> str | None:
    return None if raw is None else endpoint_url(name, raw)


def allow_list(raw: str | None) -> frozenset[str] | Literal["*"]:
    if raw is None:
        return frozenset()  # unset refuses every bucket: the safe default
    if raw == "*":
        return "*"
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def sweep_defaults(read: Callable[[str], str | None]) -> dict[str, Any]:
    """The SWEEP_* defaults, typed; ranges are checked when merged with a timer's event."""
    defaults: dict[str, Any] = {}
    for setting, name in SWEEP_VARIABLES.items():
        raw = read(name)
        if raw is None:
            continue
        if setting in _SWEEP_LISTS:
            # '""' spells the one empty prefix (the whole bucket), which a comma list can't.
            defaults[setting] = [""] if raw == '""' else [p.strip() for p in raw.split(",")]
        elif setting in _SWEEP_FLAGS:
            defaults[setting] = flag(name, raw, False)
        elif setting in _SWEEP_COUNTS:
            defaults[setting] = count(name, raw, 0, 0, 10_000_000)
        else:
            defaults[setting] = raw
    return defaults


def load_settings(user_data: Callable[[str], Any],
                  overrides: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming the bad one."""
    def read(name: str) -> str | None:
        if overrides and name in overrides:
            return overrides[name]
        return lookup(user_data, name)

    endpoint = read("OBS_ENDPOINT")
    region = region_name("OBS_REGION", read("OBS_REGION"))
    if endpoint is None and region:
        endpoint = f"https://obs.{region}.myhuaweicloud.com"
    if endpoint is None:
        raise ConfigError("OBS_ENDPOINT (or OBS_REGION) is not set")
    price = number("STORAGE_PRICE_PER_GB_MONTH", read("STORAGE_PRICE_PER_GB_MONTH"), None, 0, 1e6)
    return Settings(
        endpoint=endpoint_url("OBS_ENDPOINT", endpoint),
        allowed_buckets=allow_list(read("ALLOWED_BUCKETS")),
        upload_id_format=choice("UPLOAD_ID_FORMAT", read("UPLOAD_ID_FORMAT"),  # type: ignore[arg-type]
                                ("obs", "relaxed")) or "obs",
        path_style=flag("OBS_PATH_STYLE", read("OBS_PATH_STYLE"), False),
        signature=choice("OBS_SIGNATURE", read("OBS_SIGNATURE"), ("obs", "v2")),  # type: ignore[arg-type]
        max_retry_count=count("OBS_MAX_RETRY_COUNT", read("OBS_MAX_RETRY_COUNT"), 3, 0, 10),
        timeout_s=number("OBS_TIMEOUT_S", read("OBS_TIMEOUT_S"), 30.0, 0.1, 300) or 30.0,
        safety_margin_ms=count("SAFETY_MARGIN_MS", read("SAFETY_MARGIN_MS"), 5000, 0, 600_000),
        batch_concurrency=count("BATCH_CONCURRENCY", read("BATCH_CONCURRENCY"), 16, 1, 64),
        max_clock_skew=duration("SWEEP_MAX_CLOCK_SKEW", read("SWEEP_MAX_CLOCK_SKEW"),
                                timedelta(minutes=15)) or timedelta(0),
        min_age_floor=duration("SWEEP_MIN_AGE_FLOOR", read("SWEEP_MIN_AGE_FLOOR"), None),
        object_event_grace=duration("OBJECT_EVENT_GRACE", read("OBJECT_EVENT_GRACE"),
                                    timedelta(hours=1)) or timedelta(0),
        object_event_force=flag("OBJECT_EVENT_FORCE", read("OBJECT_EVENT_FORCE"), False),
        object_key_encoding=choice("OBJECT_EVENT_KEY_ENCODING",  # type: ignore[arg-type]
                                   read("OBJECT_EVENT_KEY_ENCODING"), ("url", "none")) or "url",
        fanout=FanoutTarget(
            read("FANOUT_FUNCTION_URN"), region_name("FANOUT_REGION", read("FANOUT_REGION"))
            or region, _optional_url("FUNCTIONGRAPH_ENDPOINT", read("FUNCTIONGRAPH_ENDPOINT"))),
        storage_price_per_gb_month=price,
        report_bucket=bucket_name("REPORT_BUCKET", read("REPORT_BUCKET")),
        report_prefix=read("REPORT_PREFIX") or "mpu-janitor/reports/",
        sweep_defaults=sweep_defaults(read),
    )
