"""Turning pydantic's validation errors into the one refusal an event gets: InvalidEvent.

Every inbound shape is validated through ``validate``, so every refusal names its fields
the same way and never quotes the input (a token pasted into the wrong field stays out of
replies and logs).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

# pydantic's ValidationError is pydantic_core's: importing it from the core keeps
# pydantic's Python layer off the abort path (handler/events/abandonment.py).
from pydantic_core import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")
Validated = TypeVar("Validated")

# FunctionGraph's synchronous request limit is 6 MB; deeper nesting than this is no event
# of ours and would only exhaust the parser's recursion.
MAX_JSON_DEPTH = 64


class InvalidEvent(Exception):  # noqa: N818 - named after the errorCode it produces
    """The event (or one batch item) failed validation; the message lists every problem."""


def describe(error: ValidationError, whole: str = "event") -> str:
    """Every problem of a validation error as ``field: why``; never the input itself."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or whole
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def validate(model: type[Model], data: Any, label: str, context: dict[str, Any] | None = None,
             ) -> Model:
    """``model.model_validate(data)``, or InvalidEvent naming every bad field under ``label``."""
    return validate_with(model.model_validate, data, label, context)


def validate_with(check: Callable[..., Validated], data: Any, label: str,
                  context: dict[str, Any] | None = None) -> Validated:
    """``check(data, context=context)`` (a model's ``model_validate`` or a core
    ``SchemaValidator.validate_python``), or InvalidEvent naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidEvent(f"{label}: must be a JSON object, not {kind_of(data)}")
    for name, value in data.items():
        if deepest(value, MAX_JSON_DEPTH - 1):
            raise InvalidEvent(f"{label}: {name}: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return check(data, context=context)
    except ValidationError as exc:
        raise InvalidEvent(f"{label}: {describe(exc, label)}") from None


def kind_of(value: Any) -> str:
    """A JSON-ish name for a value's type, for messages."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def deepest(value: Any, limit: int) -> bool:
    """True when ``value`` nests more than ``limit`` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def parse_json_text(text: Any, label: str) -> Any:
    """A field that carries JSON as text (APIG body, SMN message, user_event, data).

    Non-strings are returned as they are: a caller that already sent the object is read
    like one that sent its JSON text. Malformed text is InvalidEvent; so is text nested
    deeper than the C parser's recursion guard allows (``[`` x 200,000).
    """
    if not isinstance(text, str):
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidEvent(f"{label}: is not valid JSON") from None
    if deepest(value, MAX_JSON_DEPTH):
        raise InvalidEvent(f"{label}: nested deeper than {MAX_JSON_DEPTH} levels")
    return value
