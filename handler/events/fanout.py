"""Fan-out chain events: the shards one asynchronous invocation of a run sweeps.

The planner and each link of a chain write these with ``ChainEvent(...).to_event()``, and
the receiving invocation reads them back with ``read_chain``, through the schema below,
which also checks what ``to_event`` writes (pydantic-core, as handler/events/timer.py
explains; the model it stands for is in tests/support/timer_models.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_core import core_schema as cs

from handler.events.errors import validate_with
from handler.events.schemas import after, field, nested, validator
from handler.events.timer import CURSOR_FIELDS, SETTINGS_SCHEMA, Cursor, SweepSettings


@dataclass(frozen=True, kw_only=True, slots=True)
class Task(Cursor):
    """A shard: sweep from the cursor on (``plan``: list its folders instead, and queue
    them as shards)."""

    plan: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainEvent:
    """One link of a chain: run ``run_id``, chain number, position in it, what is left."""

    run_id: str
    chain: int
    seq: int
    tasks: list[Task]
    settings: SweepSettings

    def to_event(self) -> dict[str, Any]:
        """The event that carries this link, as the next invocation receives it: the
        tasks without their default fields, the settings whole.

        Checked by the schema ``read_chain`` reads it with: a link the next invocation
        would refuse (more than 10,000 tasks, a prefix or marker too long) raises
        ValidationError here, in the sender, instead of being dispatched and lost.
        """
        link = {"run_id": self.run_id, "chain": self.chain, "seq": self.seq,
                "tasks": [task.to_dict(skip_defaults=True) for task in self.tasks],
                "settings": self.settings.to_dict()}
        _CHAIN.validate_python(link)
        return {"fanout": link}


_TASK_SCHEMA = nested("Task", after(lambda fields: Task(**fields), cs.typed_dict_schema(
    {**CURSOR_FIELDS, "plan": field(cs.bool_schema(), False)}, extra_behavior="forbid")))
_CHAIN = validator(after(lambda fields: ChainEvent(**fields), cs.typed_dict_schema({
    "run_id": field(cs.str_schema(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")),
    "chain": field(cs.int_schema(strict=True, ge=0, le=1000)),
    "seq": field(cs.int_schema(strict=True, ge=0, le=1_000_000)),
    "tasks": field(cs.list_schema(_TASK_SCHEMA, min_length=1, max_length=10_000)),
    "settings": field(nested("SweepSettings", SETTINGS_SCHEMA)),
}, extra_behavior="forbid")), "ChainEvent")


def read_chain(data: Any) -> ChainEvent:
    chain: ChainEvent = validate_with(_CHAIN.validate_python, data, "fanout")
    return chain
