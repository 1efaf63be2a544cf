"""Every date the janitor reads from a server, parsed in one place, strictly.

Ages decide what is destroyed, so a date that is not certain is no date: each parser
returns an aware UTC datetime or None, and never raises, whatever the input.

- ``parse_http_date``: a ``Date`` header. RFC 9110 §5.6.7 (formerly RFC 7231 §7.1.1.1,
  https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7) obliges a recipient to accept the
  IMF-fixdate and the two obsolete forms, RFC 850 and asctime; all three mean GMT.
  Other RFC 5322 date-times are accepted only with an explicit zone (``+hhmm`` or one of
  RFC 5322's named zones); without a zone, or with ``-0000`` ("no information about the
  local time zone", RFC 5322 §3.3), the instant is unknown and the answer is None.
- ``parse_iso8601``: listing ``Initiated``, part ``LastModified``, event ``eventTime``.
  An offset (``Z`` or ``±hh:mm``) is required; any number of fraction digits is taken
  (EventGrid sends nine). ``-00:00`` is UTC (RFC 3339 §4.3: UTC known, local offset not).

Both refuse years outside ``MIN_YEAR..MAX_YEAR``: OBS did not exist before 2000, and a
server claiming 9999 is broken, not far ahead.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

MIN_YEAR = 2000
MAX_YEAR = 2100
_MAX_LENGTH = 64  # a longer "date" is not one, and is not worth a regex's time

_MONTHS = {name: n for n, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
# IMF-fixdate, what OBS sends: "Tue, 02 Jan 2024 03:04:05 GMT" (1-digit days tolerated).
_IMF = re.compile(
    rf"(?:{_WEEKDAY},\s*)?(\d{{1,2}}) ([a-z]{{3}}) (\d{{4}}) {_TIME} (?:gmt|utc|ut|z)",
    re.IGNORECASE,
)
# RFC 850: "Tuesday, 02-Jan-24 03:04:05 GMT".
_RFC850 = re.compile(rf"{_WEEKDAY},\s*(\d{{2}})-([a-z]{{3}})-(\d{{2}}) {_TIME} gmt", re.IGNORECASE)
# asctime: "Tue Jan  2 03:04:05 2024" (no zone, but GMT by definition).
_ASCTIME = re.compile(rf"{_WEEKDAY} ([a-z]{{3}}) +(\d{{1,2}}) {_TIME} (\d{{4}})", re.IGNORECASE)
# Any other RFC 5322 date-time with an explicit zone: a numeric offset or one of the
# obsolete US names that RFC 5322 §4.3 defines.
_ZONES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
          "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}
_RFC5322 = re.compile(
    rf"(?:{_WEEKDAY},?\s*)?(\d{{1,2}})\s+([a-z]{{3}})\s+(\d{{4}})\s+(\d{{1,2}}):(\d{{2}})"
    rf"(?::(\d{{2}}))?\s+([+-]\d{{4}}|{'|'.join(_ZONES)})",
    re.IGNORECASE,
)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)"
)


def _utc(year: int, month: int, day: int, hour: int, minute: int, second: int,
         micro: int = 0, offset: timedelta | None = None) -> datetime | None:
    """An aware UTC datetime from fields, or None when any is out of range."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    if second == 60:  # a leap second: read as the second before it
        second = 59
    try:
        local = datetime(year, month, day, hour, minute, second, micro,
                         tzinfo=timezone(offset) if offset else timezone.utc)
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def parse_http_date(value: object) -> datetime | None:
    """An HTTP ``Date`` as an aware UTC datetime; None when absent, zoneless or absurd."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_LENGTH:
        return None
    match = _IMF.fullmatch(text)
    if match:
        day, month, year, hh, mm, ss = match.groups()
        return _from_names(int(year), month, int(day), hh, mm, ss)
    match = _RFC850.fullmatch(text)
    if match:
        day, month, yy, hh, mm, ss = match.groups()
        # Two-digit years: RFC 9110 reads a year more than 50 years ahead as the past;
        # with the MIN_YEAR bound only 2000-2069 can matter, so 70-99 are 19xx (refused).
        year = int(yy) + (2000 if int(yy) < 70 else 1900)
        return _from_names(year, month, int(day), hh, mm, ss)
    match = _ASCTIME.fullmatch(text)
    if match:
        month, day, hh, mm, ss, year = match.groups()
        return _from_names(int(year), month, int(day), hh, mm, ss)
    return _parse_other_rfc5322(text)


def _from_names(year: int, month_name: str, day: int, hh: str, mm: str, ss: str,
                offset: timedelta | None = None) -> datetime | None:
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    return _utc(year, month, day, int(hh), int(mm), int(ss), offset=offset)


def _parse_other_rfc5322(text: str) -> datetime | None:
    # Written out rather than email.utils.parsedate_tz: that one reports a missing zone
    # and "-0000" as offset 0, i.e. as GMT, which is the guess this module must not make
    # (and its import costs milliseconds of cold start).
    match = _RFC5322.fullmatch(text)
    if match is None:
        return None
    day, month, year, hh, mm, ss, zone = match.groups()
    if zone[0] in "+-":
        if zone == "-0000":
            return None
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if minutes >= 60:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        offset = -offset if zone[0] == "-" else offset
    else:
        offset = timedelta(hours=_ZONES[zone.upper()])
    return _from_names(int(year), month, int(day), hh, mm, ss or "0", offset)


def parse_iso8601(value: object) -> datetime | None:
    """``2015-07-01T02:30:54.582Z`` and kin as an aware UTC datetime; None if unusable,
    zoneless, or outside MIN_YEAR..MAX_YEAR (after conversion to UTC)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_LENGTH:
        return None
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hh, mm, ss, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction + "000000")[:6]) if fraction else 0
    offset: timedelta | None = None
    if not zulu:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        if offset >= timedelta(hours=24) or int(off_m or 0) >= 60:
            return None
        offset = -offset if sign == "-" else offset
    # Bounds on the UTC instant, so that "0001-01-01T00:00:00+14:00" (before year 1 in
    # UTC) is refused, not an OverflowError.
    parsed = _utc(int(year), int(month), int(day), int(hh), int(mm), int(ss), micro, offset)
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return parsed


def header_date(headers: Iterable[tuple[str, str]] | None) -> datetime | None:
    """The ``date`` entry of a GetResult's ``header`` list, parsed; None if absent or bad.

    A repeated ``date`` makes the answer None: two clocks are no clock.
    """
    values = [value for name, value in headers or () if name.lower() == "date"]
    if len(values) != 1:
        return None
    return parse_http_date(values[0])
