"""SweepReport: counters, the capped detail list (failures always kept), bytes and cost."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from handler.logs import DecisionLog
from handler.obs.listings import Upload
from handler.sweep.report import COUNTERS, SweepReport

if TYPE_CHECKING:
    from handler.result import Outcome

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
GIB = 1024 ** 3


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)


class Context:
    def __init__(self) -> None:
        self.logger = Lines()

    def getLogger(self) -> Lines:
        return self.logger


def report(**kwargs: object) -> tuple[SweepReport, Lines]:
    context = Context()
    return SweepReport(dry_run=False, log=DecisionLog(context), **kwargs), context.logger  # type: ignore[arg-type]


def upload(n: int = 0, age: timedelta | None = timedelta(days=2)) -> Upload:
    return Upload(key=f"k/{n}", uploadId=f"u{n}", initiated=None if age is None else NOW - age)


OUTCOMES: list[Outcome] = ["aborted", "would_abort", "already_gone", "failed", "skipped_young",
                           "skipped_active", "skipped_excluded", "skipped_initiator",
                           "skipped_outside", "skipped_clock"]


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_each_outcome_has_its_counter(outcome: Outcome) -> None:
    sweep, lines = report()
    sweep.decide("b", upload(), outcome, NOW)
    summary = sweep.to_dict(None)["summary"]
    assert summary[outcome] == 1
    assert sum(summary[name] for name in COUNTERS) == 1
    assert summary["per_bucket"] == {"b": {name: int(name == outcome) for name in COUNTERS}}
    [line] = [json.loads(x) for x in lines.lines]
    assert (line["action"], line["outcome"], line["key"]) == ("sweep", outcome, "k/0")


def test_counts_add_up_per_bucket() -> None:
    sweep, _ = report()
    sweep.count("a", "seen", 3)
    sweep.count("b", "seen")
    sweep.decide("a", upload(1), "aborted", NOW)
    sweep.decide("b", upload(2), "aborted", NOW)
    summary = sweep.to_dict(None)["summary"]
    assert (summary["seen"], summary["aborted"]) == (4, 2)
    assert summary["per_bucket"]["a"]["seen"] == 3 and summary["per_bucket"]["b"]["seen"] == 1


def test_the_entry_says_age_on_the_servers_clock() -> None:
    sweep, _ = report()
    sweep.decide("b", upload(1, age=timedelta(hours=30)), "aborted", NOW, status=204,
                 request_id="r1", bytes_=10)
    sweep.decide("b", upload(2, age=None), "skipped_young", NOW)
    sweep.decide("b", upload(3), "skipped_clock", None, error_code="ClockUntrusted")
    first, unknown, no_clock = sweep.to_dict(None)["uploads"]
    assert first == {"bucket": "b", "key": "k/1", "uploadId": "u1",
                     "initiated": (NOW - timedelta(hours=30)).isoformat(), "age_s": 108000.0,
                     "outcome": "aborted", "status": 204, "requestId": "r1", "bytes": 10}
    assert unknown["initiated"] is None and unknown["age_s"] is None
    assert no_clock["age_s"] is None and no_clock["errorCode"] == "ClockUntrusted"


def test_bytes_count_only_for_aborted_and_would_abort() -> None:
    sweep, _ = report()
    sweep.decide("b", upload(1), "aborted", NOW, bytes_=100)
    sweep.decide("b", upload(2), "aborted", NOW, bytes_=None)
    sweep.decide("b", upload(3), "would_abort", NOW, bytes_=7)
    sweep.decide("b", upload(4), "failed", NOW, bytes_=1000)
    summary = sweep.to_dict(None)["summary"]
    assert (summary["bytes_reclaimed"], summary["bytes_would_reclaim"]) == (100, 7)


def test_the_cap_keeps_every_failure_and_counts_the_rest() -> None:
    sweep, lines = report(detail_cap=2)
    for n in range(3):
        sweep.decide("b", upload(n), "aborted", NOW)
    for n in range(3, 6):
        sweep.decide("b", upload(n), "failed", NOW)
    reply = sweep.to_dict(None)
    assert [e["key"] for e in reply["uploads"]] == ["k/0", "k/1", "k/3", "k/4", "k/5"]
    assert reply["uploads_omitted"] == 1
    assert reply["summary"]["aborted"] == 3 and reply["summary"]["failed"] == 3
    assert len(lines.lines) == 6  # every decision is logged, capped or not


# (price per GB-month, bytes reclaimed, bytes a dry run would reclaim) -> (costs)
COSTS = {
    "no price": (None, 2 * GIB, GIB, None, None),
    "a price": (0.1, 2 * GIB, GIB, 0.2, 0.1),
    "a free tier": (0.0, 2 * GIB, 0, 0.0, 0.0),
    "rounded to six places": (0.1, 1, 0, 0.0, 0.0),
    "half a GiB": (0.12, GIB // 2, 0, 0.06, 0.0),
}


@pytest.mark.parametrize(("price", "reclaimed", "would", "cost", "would_cost"),
                         list(COSTS.values()), ids=list(COSTS))
def test_cost(price: float | None, reclaimed: int, would: int, cost: float | None,
              would_cost: float | None) -> None:
    sweep, _ = report(price_per_gb_month=price)
    sweep.decide("b", upload(1), "aborted", NOW, bytes_=reclaimed)
    sweep.decide("b", upload(2), "would_abort", NOW, bytes_=would)
    summary = sweep.to_dict(None)["summary"]
    assert (summary["cost_reclaimed"], summary["cost_would_reclaim"]) == (cost, would_cost)


def test_errors_are_kept_logged_and_make_the_sweep_unclean() -> None:
    sweep, lines = report()
    assert sweep.clean
    sweep.error("b", "p/", "the listing stopped", status=500)
    assert not sweep.clean
    assert sweep.to_dict(None)["errors"] == [{"bucket": "b", "prefix": "p/", "error": "the listing stopped", "status": 500}]
    assert json.loads(lines.lines[-1])["action"] == "sweep_error"


def test_a_failure_makes_the_sweep_unclean() -> None:
    sweep, _ = report()
    sweep.decide("b", upload(), "already_gone", NOW)
    assert sweep.clean
    sweep.decide("b", upload(1), "failed", NOW)
    assert not sweep.clean


def test_the_reply_shape() -> None:
    sweep, _ = report()
    sweep.pages = 2
    sweep.requests["list"] += 2
    sweep.observe_clock(datetime.now(timezone.utc) + timedelta(seconds=30))
    reply = sweep.to_dict({"bucket": "b"})
    assert set(reply) == {"dry_run", "summary", "uploads", "uploads_omitted", "errors", "continuation"}
    assert reply["continuation"] == {"bucket": "b"} and reply["dry_run"] is False
    summary = reply["summary"]
    assert summary["pages"] == 2 and summary["requests"] == {"list": 2}
    assert 29 <= summary["clock_skew_s"] <= 31
    assert isinstance(summary["duration_ms"], int) and summary["duration_ms"] >= 0
