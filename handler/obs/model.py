"""GetResult and putContent's body, field for field as the SDK names them.

The names mirror the official SDK's ``model.py`` (docs/obs.md §5.9) so that code written
against ``obs.GetResult`` reads ours unchanged; everything else in the project is snake_case.
The listing calls' bodies are in ``listings.py``: an abort never builds them, and each
dataclass costs a cold start a few million instructions to create.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

GET_RESULT_FIELDS = (
    "status", "reason", "errorCode", "errorMessage", "requestId",
    "indicator", "hostId", "resource", "header", "body",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


class _SdkModel:
    """Attribute access plus the dict-style reads SDK users write (``r['key']``, ``r.get``)."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self._names() else default

    def keys(self) -> tuple[str, ...]:
        return self._names()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with every field, None ones included (the SDK drops them)."""
        return {name: _jsonable(getattr(self, name)) for name in self._names()}

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class GetResult(_SdkModel):
    """The outcome of one OBS call: exactly the SDK's ten fields (docs/obs.md §5.9)."""

    status: int | None = None
    reason: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    requestId: str | None = None
    indicator: str | None = None
    hostId: str | None = None
    resource: str | None = None
    header: list[tuple[str, str]] | None = None
    body: Any = None

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return GET_RESULT_FIELDS

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 300


@dataclass(frozen=True, slots=True)
class PutContentResponse(_SdkModel):
    """The body of a successful putContent, from the response headers, as the SDK's."""

    storageClass: str | None = None
    etag: str | None = None
    versionId: str | None = None
    objectUrl: str | None = None
