"""Timestamps: OBS's Date header (clock.server_time) and ISO-8601 times (listings' Initiated
and LastModified, object events' eventTime and CloudEvent time).

A Date without a trustworthy zone is no clock at all (the page aborts nothing); an ISO
time without a zone is UTC, as OBS writes them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from handler.events.object import parse_object_event
from handler.obs.dates import parse_iso8601
from handler.obs.model import GetResult
from handler.sweep.clock import server_time

UTC = timezone.utc
NOV_6 = datetime(2026, 11, 6, 8, 49, 37, tzinfo=UTC)

# Date header -> the instant, or None (the parser's own table is tests/unit/test_dates.py;
# these rows hold the clock's accessor to it)
DATES: dict[str, tuple[str, datetime | None]] = {
    "IMF-fixdate": ("Fri, 06 Nov 2026 08:49:37 GMT", NOV_6),
    "numeric zone": ("Fri, 06 Nov 2026 16:49:37 +0800", NOV_6),
    "negative zone": ("Fri, 06 Nov 2026 03:49:37 -0500", NOV_6),
    "no zone": ("Fri, 06 Nov 2026 08:49:37", None),
    "-0000 means zone unknown": ("Fri, 06 Nov 2026 08:49:37 -0000", None),
    "an absurd year": ("Fri, 31 Dec 9999 23:59:59 -1400", None),
    "garbage": ("yesterday, around noon", None),
    "empty": ("", None),
}


@pytest.mark.parametrize(("header", "expected"), list(DATES.values()), ids=list(DATES))
def test_server_time_from_the_date_header(header: str, expected: datetime | None) -> None:
    parsed = server_time(GetResult(status=200, header=[("Date", header)]))
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_server_time_finds_date_in_any_case_and_none_without_it() -> None:
    headers = [("x-obs-request-id", "r"), ("date", "Fri, 06 Nov 2026 08:49:37 GMT")]
    assert server_time(GetResult(status=200, header=headers)) == NOV_6
    assert server_time(GetResult(status=200, header=[("x-obs-request-id", "r")])) is None
    assert server_time(GetResult(status=200, header=None)) is None


# ISO-8601 text -> the instant, or None
ISO: dict[str, tuple[Any, datetime | None]] = {
    "OBS's form": ("2015-07-01T02:30:54.582Z", datetime(2015, 7, 1, 2, 30, 54, 582000, tzinfo=UTC)),
    "no fraction": ("2015-07-01T02:30:54Z", datetime(2015, 7, 1, 2, 30, 54, tzinfo=UTC)),
    "six fraction digits": ("2015-07-01T02:30:54.123456Z", datetime(2015, 7, 1, 2, 30, 54, 123456, tzinfo=UTC)),
    "nine fraction digits (EventGrid)": ("2015-07-01T02:30:54.123456789Z", datetime(2015, 7, 1, 2, 30, 54, 123456, tzinfo=UTC)),
    "one fraction digit": ("2015-07-01T02:30:54.5Z", datetime(2015, 7, 1, 2, 30, 54, 500000, tzinfo=UTC)),
    "an offset": ("2015-07-01T10:30:54+08:00", datetime(2015, 7, 1, 2, 30, 54, tzinfo=UTC)),
    "+00:00": ("2015-07-01T02:30:54+00:00", datetime(2015, 7, 1, 2, 30, 54, tzinfo=UTC)),
    # No zone, no instant: an upload whose start is not known is not known to be old.
    "no zone is no time": ("2015-07-01T02:30:54", None),
    "surrounding space": ("  2015-07-01T02:30:54Z ", datetime(2015, 7, 1, 2, 30, 54, tzinfo=UTC)),
    "+14:00, not at the edge": ("2015-07-01T16:30:54+14:00", datetime(2015, 7, 1, 2, 30, 54, tzinfo=UTC)),
    "garbage": ("not a time", None),
    "empty": ("", None),
    "blank": ("   ", None),
    "month 13": ("2015-13-01T02:30:54Z", None),
    "a number": (1435717854, None),
    "null": (None, None),
}


@pytest.mark.parametrize(("text", "expected"), list(ISO.values()), ids=list(ISO))
def test_parse_iso8601(text: Any, expected: datetime | None) -> None:
    parsed = parse_iso8601(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def _s3_record(event_time: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"eventName": "ObjectCreated:Put",
                              "s3": {"bucket": {"name": "examplebucket"}, "object": {"key": "k"}}}
    if event_time is not None:
        record["eventTime"] = event_time
    return {"Records": [record]}


# eventTime -> the record's event_time
EVENT_TIMES: dict[str, tuple[str | None, datetime | None]] = {
    "Z": ("2026-11-27T08:00:00.000Z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    "nine digits": ("2026-11-27T08:00:00.123456789Z", datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=UTC)),
    "offset": ("2026-11-27T16:00:00+08:00", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    "+14:00 at year 1 is before datetime.min: unknown": ("0001-01-01T00:00:00+14:00", None),
    "-14:00 at year 9999 is after datetime.max: unknown": ("9999-12-31T23:59:59-14:00", None),
    "garbage": ("soon", None),
    "absent": (None, None),
}


@pytest.mark.parametrize(("event_time", "expected"), list(EVENT_TIMES.values()), ids=list(EVENT_TIMES))
def test_object_event_times(event_time: str | None, expected: datetime | None) -> None:
    [record] = parse_object_event(_s3_record(event_time), "url")
    assert record.event_time == expected


# (CloudEvent time, data.eventTime) -> the record's event_time: the earliest known
CLOUD_TIMES: dict[str, tuple[str | None, str | None, datetime | None]] = {
    "CloudEvent time earlier": ("2026-11-27T08:00:00Z", "2026-11-27T16:00:00Z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    "eventTime earlier": ("2026-11-27T16:00:00Z", "2026-11-27T08:00:00Z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    "only the CloudEvent time": ("2026-11-27T08:00:00Z", None, datetime(2026, 11, 27, 8, tzinfo=UTC)),
    "an unusable one is ignored": ("0001-01-01T00:00:00+14:00", "2026-11-27T08:00:00Z", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    "neither": (None, "garbage", None),
}


@pytest.mark.parametrize(("cloud_time", "event_time", "expected"), list(CLOUD_TIMES.values()), ids=list(CLOUD_TIMES))
def test_cloud_event_takes_the_earliest_clock(cloud_time: str | None, event_time: str | None,
                                               expected: datetime | None) -> None:
    data: dict[str, Any] = {"eventName": "ObjectCreated:Put",
                            "obs": {"bucket": {"name": "examplebucket"}, "object": {"key": "k"}}}
    if event_time is not None:
        data["eventTime"] = event_time
    event: dict[str, Any] = {"specversion": "1.0", "data": data}
    if cloud_time is not None:
        event["time"] = cloud_time
    [record] = parse_object_event(event, "url")
    assert record.event_time == expected
