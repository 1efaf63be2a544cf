"""settings.parse_duration: the forms a min_age or grace may take, its limits, its errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handler.settings import MAX_DURATION, parse_duration

GOOD = {
    "90m": timedelta(minutes=90),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "45s": timedelta(seconds=45),
    "0s": timedelta(0),
    "1h30m": timedelta(hours=1, minutes=30),
    "1d12h30m15s": timedelta(days=1, hours=12, minutes=30, seconds=15),
    "30m1h": timedelta(hours=1, minutes=30),
    "  2H ": timedelta(hours=2),
    "1 h 30 m": timedelta(hours=1, minutes=30),
    "007m": timedelta(minutes=7),
    "3650d": MAX_DURATION,
    "87600h": MAX_DURATION,
    "315360000s": MAX_DURATION,
}


@pytest.mark.parametrize(("text", "expected"), list(GOOD.items()), ids=list(GOOD))
def test_good_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


BAD = {
    "empty": ("", "is not a duration"),
    "blank": ("   ", "is not a duration"),
    "no unit": ("10", "is not a duration"),
    "no number": ("h", "is not a duration"),
    "unknown unit": ("1w", "is not a duration"),
    "negative": ("-1h", "is not a duration"),
    "fraction": ("1.5h", "is not a duration"),
    "trailing junk": ("1h-", "is not a duration"),
    "words": ("2days", "is not a duration"),
    "ten digits": ("9999999999s", "is not a duration"),
    "ISO 8601": ("PT1H", "is not a duration"),
    "just over the limit": ("3651d", "is longer than 3650 days"),
    "over the limit in seconds": ("315360001s", "is longer than 3650 days"),
    "nine digits of seconds": ("999999999s", "is longer than 3650 days"),
}


@pytest.mark.parametrize(("text", "problem"), list(BAD.values()), ids=list(BAD))
def test_bad_durations(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_duration(text)


def test_an_error_never_quotes_the_value() -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration("tok-" + "x" * 500)
    assert "tok-" not in str(caught.value) and "duration" in str(caught.value)
