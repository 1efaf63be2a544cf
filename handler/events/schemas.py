"""Building pydantic-core schemas the way pydantic builds a model's, without its Python
layer (handler/events/timer.py says why): fields with defaults, after-validators, nested
objects, and the validator's config."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError, SchemaValidator
from pydantic_core import core_schema as cs

if TYPE_CHECKING:
    from collections.abc import Callable


def field(schema: cs.CoreSchema, default: Any = dataclasses.MISSING, *,
          factory: Callable[[], Any] | None = None) -> cs.TypedDictField:
    """A field: required without a default, else filled from ``default`` or ``factory``."""
    if factory is not None:
        schema = cs.with_default_schema(schema, default_factory=factory)
    elif default is not dataclasses.MISSING:
        schema = cs.with_default_schema(schema, default=default)
    else:
        return cs.typed_dict_field(schema, required=True)
    return cs.typed_dict_field(schema, required=False)


def after(function: Callable[[Any], Any], schema: cs.CoreSchema) -> cs.CoreSchema:
    """``schema``, then ``function`` on its value (a field or model validator)."""
    return cs.no_info_after_validator_function(function, schema)


def nested(name: str, schema: cs.CoreSchema) -> cs.CoreSchema:
    """An object inside another reads as a nested model named ``name`` did: anything but a
    dict is refused in the model's own words."""
    def require_dict(value: Any) -> Any:
        if not isinstance(value, dict):
            raise PydanticCustomError(
                "model_type", "Input should be a valid dictionary or instance of {class_name}",
                {"class_name": name})
        return value
    return cs.no_info_before_validator_function(require_dict, schema)


def validator(schema: cs.CoreSchema, title: str) -> SchemaValidator:
    """The validator with the config pydantic passes a model's: hide_input_in_errors inside
    the schema would leave the input in str(ValidationError)."""
    return SchemaValidator(schema, cs.CoreConfig(title=title, hide_input_in_errors=True))
