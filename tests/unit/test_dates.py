"""handler.obs.dates: every server date parsed strictly, never raising (table tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from handler.obs.dates import MAX_YEAR, MIN_YEAR, header_date, parse_http_date, parse_iso8601

UTC = timezone.utc
T = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

HTTP_DATES = [
    # the three forms RFC 9110 requires, all GMT
    ("Tue, 02 Jan 2024 03:04:05 GMT", T),
    ("Tuesday, 02-Jan-24 03:04:05 GMT", T),
    ("Tue Jan  2 03:04:05 2024", T),
    # tolerated spellings of the same instant
    ("tue, 02 jan 2024 03:04:05 gmt", T),
    ("Tue, 2 Jan 2024 03:04:05 GMT", T),
    ("  Tue, 02 Jan 2024 03:04:05 GMT  ", T),
    ("Tue, 02 Jan 2024 03:04:05 UTC", T),
    ("02 Jan 2024 03:04:05 GMT", T),
    # other RFC 5322 forms with an explicit zone
    ("Tue, 02 Jan 2024 11:04:05 +0800", T),
    ("Mon, 01 Jan 2024 22:04:05 -0500", T),
    ("Mon, 01 Jan 2024 22:04:05 EST", T),
    ("Tue, 02 Jan 2024 03:04 +0000", T - timedelta(seconds=5)),
    ("Tue, 02 Jan 2024 03:04:60 GMT", T + timedelta(seconds=54)),  # leap second: :59
    # no zone, or a zone that says "unknown": no instant
    ("Tue, 02 Jan 2024 03:04:05", None),
    ("Tue, 02 Jan 2024 03:04:05 -0000", None),
    ("Tue, 02 Jan 2024 03:04:05 XYZ", None),
    ("Tue, 02 Jan 2024 03:04:05 +0099", None),
    ("Tue, 02 Jan 2024 03:04:05 +2400x", None),
    # absurd years and impossible fields
    ("Fri, 31 Dec 9999 23:59:59 GMT", None),
    ("Thu, 01 Jan 1970 00:00:00 GMT", None),
    ("Sat, 01 Jan 1999 00:00:00 GMT", None),
    ("Thursday, 01-Jan-70 00:00:00 GMT", None),  # 1970 by RFC 9110's two-digit rule
    (f"Tue, 02 Jan {MAX_YEAR + 1} 03:04:05 GMT", None),
    ("Tue, 31 Feb 2024 03:04:05 GMT", None),
    ("Tue, 02 Foo 2024 03:04:05 GMT", None),
    ("Tue, 02 Jan 2024 25:04:05 GMT", None),
    ("Tue, 02 Jan 99999999999999999999 03:04:05 GMT", None),
    # not dates at all
    ("", None),
    ("   ", None),
    ("2024-01-02T03:04:05Z", None),
    ("Tue, 02 Jan 2024 03:04:05 GMT" * 10, None),
    ("\x00\xff", None),
]


@pytest.mark.parametrize(("value", "expected"), HTTP_DATES)
def test_parse_http_date(value: str, expected: datetime | None) -> None:
    parsed = parse_http_date(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo == UTC


@pytest.mark.parametrize("value", [None, 0, 1.5, b"Tue, 02 Jan 2024 03:04:05 GMT", [], {}])
def test_non_strings_are_no_date(value: object) -> None:
    assert parse_http_date(value) is None
    assert parse_iso8601(value) is None


ISO_TIMES = [
    ("2024-01-02T03:04:05Z", T),
    ("2024-01-02T03:04:05.000Z", T),
    ("2024-01-02T03:04:05.582Z", T.replace(microsecond=582000)),
    ("2024-01-02T03:04:05.123456789Z", T.replace(microsecond=123456)),  # EventGrid's nine
    ("2024-01-02T03:04:05,5Z", T.replace(microsecond=500000)),
    ("2024-01-02t03:04:05z", T),
    ("2024-01-02 03:04:05Z", T),
    ("2024-01-02T11:04:05+08:00", T),
    ("2024-01-02T11:04:05+0800", T),
    ("2024-01-02T11:04:05+08", T),
    ("2024-01-01T22:04:05-05:00", T),
    ("2024-01-02T03:04:05-00:00", T),  # RFC 3339: UTC known, local offset not
    ("2024-01-02T03:04:05+00:00", T),
    # zoneless: no instant
    ("2024-01-02T03:04:05", None),
    ("2024-01-02T03:04:05.123", None),
    # edges that used to raise
    ("0001-01-01T00:00:00+14:00", None),
    ("9999-12-31T23:59:59-14:00", None),
    ("0001-01-01T00:00:00Z", None),
    ("1999-12-31T23:59:59Z", None),
    (f"{MIN_YEAR}-01-01T05:00:00+08:00", None),  # 1999 in UTC
    (f"{MIN_YEAR}-01-01T00:00:00Z", datetime(MIN_YEAR, 1, 1, tzinfo=UTC)),
    # malformed
    ("2024-13-02T03:04:05Z", None),
    ("2024-02-30T03:04:05Z", None),
    ("2024-01-02T24:00:00Z", None),
    ("2024-01-02T03:04:05+24:00", None),
    ("2024-01-02T03:04:05+08:60", None),
    ("2024-01-02T03:04Z", None),
    ("2024-01-02", None),
    ("Tue, 02 Jan 2024 03:04:05 GMT", None),
    ("2024-01-02T03:04:05Z trailing", None),
    ("", None),
    ("2024-01-02T03:04:05." + "9" * 10_000 + "Z", None),
]


@pytest.mark.parametrize(("value", "expected"), ISO_TIMES)
def test_parse_iso8601(value: str, expected: datetime | None) -> None:
    parsed = parse_iso8601(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("date", "Tue, 02 Jan 2024 03:04:05 GMT")], T),
        ([("Date", "Tue, 02 Jan 2024 03:04:05 GMT"), ("etag", "x")], T),
        ([("date", "Tue, 02 Jan 2024 03:04:05")], None),
        ([("date", "Tue, 02 Jan 2024 03:04:05 GMT"), ("date", "Wed, 03 Jan 2024 03:04:05 GMT")],
         None),
        ([], None),
        (None, None),
    ],
)
def test_header_date(headers: list[tuple[str, str]] | None, expected: datetime | None) -> None:
    assert header_date(headers) == expected

