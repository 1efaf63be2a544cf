"""Fan-out chain events: the shards one asynchronous invocation of a run sweeps.

The planner and each link of a chain write these with ``ChainEvent(...).to_event()``, and
the receiving invocation reads them back with ``read_chain``: one model both ways.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from handler.events.errors import validate
from handler.events.timer import Cursor, SweepSettings


class Task(Cursor):
    """A shard: sweep from the cursor on (``plan``: list its folders instead, and queue
    them as shards)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    plan: bool = False


class ChainEvent(BaseModel):
    """One link of a chain: run ``run_id``, chain number, position in it, what is left."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    chain: int = Field(ge=0, le=1000, strict=True)
    seq: int = Field(ge=0, le=1_000_000, strict=True)
    tasks: list[Task] = Field(min_length=1, max_length=10_000)
    settings: SweepSettings

    def to_event(self) -> dict[str, Any]:
        """The event that carries this link, as the next invocation receives it."""
        return {"fanout": self.model_dump(exclude_defaults=True, exclude={"settings"})
                | {"settings": self.settings.model_dump()}}


def read_chain(data: Any) -> ChainEvent:
    return validate(ChainEvent, data, "fanout")
