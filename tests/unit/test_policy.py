"""Policy.judge and Policy.is_active: which listed upload a sweep may abort."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from handler.obs.listings import Initiator, Part, Upload
from handler.sweep.policy import Policy

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)
ME = "domain/owner:user/uploader"


def upload(key: str = "data/a.bin", age: timedelta | None = 2 * DAY, who: str | None = ME) -> Upload:
    return Upload(key=key, uploadId="u1", initiator=Initiator(id=who),
                  initiated=None if age is None else NOW - age)


# (policy, upload, listing prefix, delimiter, server_now) -> verdict
JUDGE = {
    "old": (Policy(DAY), upload(age=2 * DAY), "", None, NOW, "selected"),
    "young": (Policy(DAY), upload(age=23 * HOUR), "", None, NOW, "skipped_young"),
    "exactly at the cutoff is old enough": (Policy(DAY), upload(age=DAY), "", None, NOW, "selected"),
    "a microsecond after the cutoff": (Policy(DAY), upload(age=DAY - TICK), "", None, NOW, "skipped_young"),
    "initiated in the future": (Policy(DAY), upload(age=-HOUR), "", None, NOW, "skipped_young"),
    "initiated unknown": (Policy(DAY), upload(age=None), "", None, NOW, "skipped_young"),
    "excluded prefix": (Policy(DAY, exclude_prefixes=("tmp/", "data/")), upload(), "", None, NOW, "skipped_excluded"),
    "exclusion is a prefix, not a substring": (Policy(DAY, exclude_prefixes=("a.bin",)), upload(), "", None, NOW, "selected"),
    "initiator matches": (Policy(DAY, initiator=ME), upload(), "", None, NOW, "selected"),
    "another initiator": (Policy(DAY, initiator=ME), upload(who="someone-else"), "", None, NOW, "skipped_initiator"),
    "initiator unknown": (Policy(DAY, initiator=ME), upload(who=None), "", None, NOW, "skipped_initiator"),
    "inside the prefix": (Policy(DAY), upload(), "data/", None, NOW, "selected"),
    "outside the prefix": (Policy(DAY), upload(key="other/a.bin"), "data/", None, NOW, "skipped_outside"),
    "directly under the prefix with a delimiter": (Policy(DAY), upload(key="data/a.bin"), "data/", "/", NOW, "selected"),
    "deeper than the delimiter": (Policy(DAY), upload(key="data/2026/a.bin"), "data/", "/", NOW, "skipped_outside"),
    "outside the prefix beats excluded": (Policy(DAY, exclude_prefixes=("other/",)), upload(key="other/a"), "data/", None, NOW, "skipped_outside"),
    "exact key": (Policy(DAY, exact_key="data/a.bin"), upload(), "data/a.bin", None, NOW, "selected"),
    "another key than the exact one": (Policy(DAY, exact_key="data/a"), upload(key="data/a.bin"), "data/a", None, NOW, "skipped_other_key"),
    "reference time caps now": (Policy(DAY, reference_time=NOW - 2 * HOUR), upload(age=DAY + HOUR), "", None, NOW, "skipped_young"),
    "reference time, old before it": (Policy(DAY, reference_time=NOW - 2 * HOUR), upload(age=DAY + 2 * HOUR), "", None, NOW, "selected"),
    "a later reference time does not extend now": (Policy(DAY, reference_time=NOW + 5 * HOUR), upload(age=23 * HOUR), "", None, NOW, "skipped_young"),
    "no trusted clock": (Policy(DAY), upload(age=30 * DAY), "", None, None, "skipped_clock"),
    "no clock, but excluded anyway": (Policy(DAY, exclude_prefixes=("data/",)), upload(), "", None, None, "skipped_excluded"),
}


@pytest.mark.parametrize(("policy", "item", "prefix", "delimiter", "now", "verdict"),
                         list(JUDGE.values()), ids=list(JUDGE))
def test_judge(policy: Policy, item: Upload, prefix: str, delimiter: str | None,
               now: datetime | None, verdict: str) -> None:
    assert policy.judge(item, now, prefix, delimiter) == verdict


def test_cutoff_is_the_capped_now_minus_min_age() -> None:
    assert Policy(DAY).cutoff(NOW) == NOW - DAY
    assert Policy(DAY, reference_time=NOW - HOUR).cutoff(NOW) == NOW - HOUR - DAY
    assert Policy(DAY, reference_time=NOW + HOUR).cutoff(NOW) == NOW - DAY


def part(age: timedelta | None) -> Part:
    return Part(partNumber=1, lastModified=None if age is None else NOW - age, size=5)


# parts -> active?
ACTIVE = {
    "no parts": ([], False),
    "all parts old": ([part(3 * DAY), part(2 * DAY)], False),
    "a part exactly min_age old": ([part(DAY)], False),
    "a part a microsecond younger than min_age": ([part(DAY - TICK)], True),
    "one young part among old ones": ([part(3 * DAY), part(HOUR)], True),
    "a part of unknown time": ([part(3 * DAY), part(None)], True),
}


@pytest.mark.parametrize(("parts", "active"), list(ACTIVE.values()), ids=list(ACTIVE))
def test_is_active(parts: list[Part], active: bool) -> None:
    assert Policy(DAY).is_active(parts, NOW) is active


def test_is_active_ignores_the_reference_time() -> None:
    """Part ages are judged on the listing's clock, not capped by an event's time."""
    policy = Policy(DAY, reference_time=NOW - 2 * DAY)
    assert policy.is_active([part(DAY + HOUR)], NOW) is False
