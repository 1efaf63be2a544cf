"""Configuration, read per invocation from the context's user data, then the environment.

The endpoint and the bucket allow-list come from here and never from an event.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handler.context import call

SETTING_NAMES = (
    "OBS_ENDPOINT", "OBS_REGION", "ALLOWED_BUCKETS", "UPLOAD_ID_FORMAT", "OBS_PATH_STYLE",
    "OBS_SIGNATURE", "OBS_MAX_RETRY_COUNT", "OBS_TIMEOUT_S", "SAFETY_MARGIN_MS",
    "BATCH_CONCURRENCY",
)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it (never its secret value)."""


class Settings(BaseModel):
    """Validated configuration for one invocation."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    endpoint: str = Field(description="OBS_ENDPOINT, or https://obs.<OBS_REGION>.myhuaweicloud.com")
    allowed_buckets: frozenset[str] | Literal["*"] = frozenset()
    upload_id_format: Literal["obs", "relaxed"] = "obs"
    path_style: bool = False
    signature: Literal["obs", "v2"] | None = None
    max_retry_count: int = Field(default=3, ge=0, le=10)
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    safety_margin_ms: int = Field(default=5000, ge=0, le=600_000)
    batch_concurrency: int = Field(default=16, ge=1, le=64)

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or "/" in value.split("://", 1)[1]:
            raise ValueError("must be a URL such as https://obs.cn-north-4.myhuaweicloud.com")
        return value

    def bucket_allowed(self, bucket: str) -> bool:
        return self.allowed_buckets == "*" or bucket in self.allowed_buckets

    @property
    def relaxed_upload_id(self) -> bool:
        return self.upload_id_format == "relaxed"


def lookup(context: Any, name: str) -> str | None:
    """A setting's raw text: the context's user data first, then the environment."""
    value = call(context, "getUserData", name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _allow_list(raw: str | None) -> frozenset[str] | Literal["*"]:
    if raw is None:
        return frozenset()  # unset refuses every bucket: the safe default
    if raw == "*":
        return "*"
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _flag(raw: str | None) -> bool:
    return (raw or "").lower() in ("1", "true", "yes", "on")


def load_settings(context: Any, overrides: dict[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming the bad one."""
    raw = {name: lookup(context, name) for name in SETTING_NAMES}
    raw.update(overrides or {})
    endpoint = raw["OBS_ENDPOINT"]
    if endpoint is None and raw["OBS_REGION"]:
        endpoint = f"https://obs.{raw['OBS_REGION']}.myhuaweicloud.com"
    if endpoint is None:
        raise ConfigError("OBS_ENDPOINT (or OBS_REGION) is not set")
    fields: dict[str, Any] = {
        "endpoint": endpoint,
        "allowed_buckets": _allow_list(raw["ALLOWED_BUCKETS"]),
        "path_style": _flag(raw["OBS_PATH_STYLE"]),
    }
    optional = {
        "upload_id_format": "UPLOAD_ID_FORMAT", "signature": "OBS_SIGNATURE",
        "max_retry_count": "OBS_MAX_RETRY_COUNT", "timeout_s": "OBS_TIMEOUT_S",
        "safety_margin_ms": "SAFETY_MARGIN_MS", "batch_concurrency": "BATCH_CONCURRENCY",
    }
    fields.update({f: raw[name] for f, name in optional.items() if raw[name] is not None})
    try:
        return Settings(**fields)
    except ValidationError as exc:
        names = {field: name for field, name in optional.items()} | {"endpoint": "OBS_ENDPOINT"}
        problems = "; ".join(
            f"{names.get(str(err['loc'][0]), err['loc'][0])}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(problems) from None
