"""The JSON shape of an inventory report (``Inventory.to_dict``), documented in
docs/inventory.md.

Fields marked NotRequired are derived (sums, costs, rankings): ``Inventory.from_dict``
ignores them and recomputes them, so a saved report restores to the same state.
Times are ISO-8601 UTC strings ending in ``Z``; sizes are bytes; ages are seconds on
the server's clock.
"""

from __future__ import annotations

from typing import Literal

from typing_extensions import NotRequired, TypedDict

# pydantic validates these at run time (from_dict), so they are typing_extensions
# TypedDicts, which pydantic requires on Python < 3.12.

Source = Literal["inventory", "sweep"]


class CountBytes(TypedDict):
    count: int
    bytes: int


AgeDict = TypedDict(
    "AgeDict",
    {"lt1h": CountBytes, "1-24h": CountBytes, "1-7d": CountBytes, "7-30d": CountBytes,
     "gt30d": CountBytes},
)


class OldestDict(TypedDict):
    bucket: str
    key: str
    upload_id: str
    initiated: str
    age_s: float
    bytes: int | None
    parts: int | None
    initiator: str | None
    verdict: str
    rule_id: str | None
    eligible_from: str | None
    expected_by: str | None


class InitiatorsDict(TypedDict):
    counts: dict[str, int]
    other: int  # initiators beyond the cap, folded together
    missing: int  # uploads whose listing named no initiator


class SweepDict(TypedDict):
    by_verdict: dict[str, CountBytes]
    other: CountBytes  # verdicts beyond the cap
    selected: NotRequired[CountBytes]
    kept: NotRequired[CountBytes]


class CoveredDict(TypedDict):
    count: int
    bytes: int
    eligible_from_min: str | None
    expected_by_max: str | None
    overdue: CountBytes  # past expected_by on the server's clock and still listed


class JanitorOnlyDict(TypedDict):
    count: int
    bytes: int
    oldest_initiated: str | None
    selected: CountBytes  # of these, what the sweep's settings would take now


class LifecycleDict(TypedDict):
    covered: CoveredDict
    janitor_only: JanitorOnlyDict


class CostDict(TypedDict):
    monthly: float
    selected_monthly: float
    janitor_only_monthly: float


class StatsDict(TypedDict):
    count: int
    bytes: int
    parts: int
    unsized: int  # uploads whose parts could not be listed: bytes and parts unknown
    age: AgeDict
    oldest: list[OldestDict]
    initiators: InitiatorsDict
    sweep: SweepDict
    lifecycle: LifecycleDict
    cost: NotRequired[CostDict | None]


class BucketDict(TypedDict):
    has_abort_rule: bool | None  # None: the lifecycle configuration could not be read
    prefixes: dict[str, StatsDict]
    prefixes_other: StatsDict | None  # top-level prefixes beyond the cap
    all: NotRequired[StatsDict]


class ConfigDict(TypedDict):
    oldest_n: int
    max_initiators: int
    max_prefixes: int
    max_verdicts: int
    price_per_gb_month: float | None
    currency: str | None


class TopPrefixDict(TypedDict):
    bucket: str
    prefix: str
    count: int
    bytes: int


class ReportDict(TypedDict):
    version: Literal[1]
    source: Source
    config: ConfigDict
    server_time_max: str | None
    buckets: dict[str, BucketDict]
    total: NotRequired[StatsDict]
    buckets_without_abort_rule: NotRequired[list[str]]
    top_prefixes: NotRequired[list[TopPrefixDict]]
    top_prefixes_other: NotRequired[CountBytes]
