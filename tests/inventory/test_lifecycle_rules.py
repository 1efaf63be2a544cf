"""Lifecycle rule matching: which enabled AbortIncompleteMultipartUpload rule covers an
upload and from when OBS may remove it (next 00:00 UTC + days, then up to 48 h)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from handler.inventory.lifecycle_rules import (
    LIFECYCLE_LAG,
    AbortRule,
    BucketLifecycle,
    coverage,
    eligible_from,
    has_abort_rule,
)

UTC = timezone.utc
CST = timezone(timedelta(hours=8))


def at(*args: int, tz: timezone = UTC) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[arg-type,misc]


@pytest.mark.parametrize(("initiated", "days", "expected"), [
    # OBS FAQ's example: uploaded 09:00 on 1 June, one day → removable from 3 June 00:00.
    (at(2024, 6, 1, 9, 0), 1, at(2024, 6, 3)),
    # Exactly midnight still counts from the *following* calendar day.
    (at(2024, 6, 1, 0, 0), 1, at(2024, 6, 3)),
    (at(2024, 6, 1, 23, 59, 59, 999999), 1, at(2024, 6, 3)),
    # The rounding S3 documents: 10:30 + 3 days rounds up to the 5th.
    (at(2014, 1, 1, 10, 30), 3, at(2014, 1, 5)),
    # Zero days: the next midnight.
    (at(2026, 12, 31, 23, 0), 0, at(2027, 1, 1)),
    # Month end and leap day.
    (at(2024, 2, 28, 12, 0), 1, at(2024, 3, 1)),
    (at(2023, 2, 28, 12, 0), 1, at(2023, 3, 2)),
    # Local times count by their UTC date: 01:00 +08:00 on 1 June is 17:00 UTC on 31 May.
    (at(2024, 6, 1, 1, 0, tz=CST), 1, at(2024, 6, 2)),
    (at(2024, 6, 1, 9, 0, tz=CST), 1, at(2024, 6, 3)),
    (at(2026, 1, 1, 10, 0), 30, at(2026, 2, 1)),
])
def test_eligible_from_counts_whole_days_from_the_next_utc_midnight(
        initiated: datetime, days: int, expected: datetime) -> None:
    assert eligible_from(initiated, days) == expected
    assert eligible_from(initiated, days).tzinfo == UTC


LOGS_7 = AbortRule("logs-7", "logs/", True, 7)
ALL_10 = AbortRule("all-10", "", True, 10)
TMP_2 = AbortRule("tmp-2", "tmp/", True, 2)
TMP_2_AGAIN = AbortRule("tmp-2-again", "tmp/", True, 2)
OFF = AbortRule("off", "", False, 1)
EXPIRE_ONLY = AbortRule("expire-only", "", True, None)
START = at(2026, 11, 20, 15, 0)


@pytest.mark.parametrize(("rules", "key", "rule_id", "days"), [
    ((), "logs/a", None, None),
    ((OFF,), "logs/a", None, None),
    ((EXPIRE_ONLY,), "logs/a", None, None),
    ((LOGS_7,), "logs/2026/a.gz", "logs-7", 7),
    ((LOGS_7,), "logs", None, None),  # a prefix is a string prefix, not a folder match
    ((LOGS_7,), "log/a", None, None),
    ((LOGS_7,), "LOGS/a", None, None),  # case-sensitive
    ((ALL_10,), "anything", "all-10", 10),
    ((ALL_10,), "", "all-10", 10),
    # Overlaps (S3 allows them; OBS refuses them): the rule that removes it first wins.
    ((ALL_10, TMP_2), "tmp/x", "tmp-2", 2),
    ((TMP_2, ALL_10), "tmp/x", "tmp-2", 2),
    ((ALL_10, TMP_2), "video/x", "all-10", 10),
    ((TMP_2, TMP_2_AGAIN), "tmp/x", "tmp-2", 2),  # equal days: the first listed
    ((OFF, EXPIRE_ONLY, LOGS_7), "logs/a", "logs-7", 7),
    ((OFF, EXPIRE_ONLY, LOGS_7), "other", None, None),
])
def test_coverage_picks_the_enabled_abort_rule_that_removes_the_upload_first(
        rules: tuple[AbortRule, ...], key: str, rule_id: str | None, days: int | None) -> None:
    found = coverage(rules, key, START)
    if rule_id is None:
        assert found is None
        return
    assert found is not None
    assert (found.rule_id, found.days_after_initiation) == (rule_id, days)
    assert found.eligible_from == at(2026, 11, 21) + timedelta(days=days or 0)
    assert found.expected_by == found.eligible_from + timedelta(hours=48)
    assert BucketLifecycle(rules).coverage(key, START) == found


@pytest.mark.parametrize(("rules", "flag"), [
    ((), False),
    ((OFF,), False),
    ((EXPIRE_ONLY,), False),
    ((OFF, EXPIRE_ONLY), False),
    ((LOGS_7,), True),
    ((OFF, TMP_2), True),
    ((AbortRule("zero", "", True, 0),), True),
])
def test_has_abort_rule_flags_buckets_like_storage_lens(
        rules: tuple[AbortRule, ...], flag: bool) -> None:
    assert has_abort_rule(rules) is flag
    assert BucketLifecycle(rules).has_abort_rule is flag


def test_the_lag_is_48_hours() -> None:
    assert timedelta(hours=48) == LIFECYCLE_LAG


@pytest.mark.parametrize("days", [-1, True])
def test_a_rule_refuses_days_that_are_not_whole_non_negative_numbers(days: int) -> None:
    with pytest.raises(ValueError, match="days_after_initiation"):
        AbortRule("bad", "", True, days)


def test_a_naive_initiation_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        eligible_from(datetime(2026, 1, 1, 12, 0), 1)
