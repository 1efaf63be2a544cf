"""Hostile listings: what the server lists is checked.

Each test scripts the listing pages by hand (tests/reliability/hostile.py) and looks at
what reached the server: no request about an upload without its key and uploadId, no
abort on a clock that cannot be trusted, nothing outside the requested prefix or under
an excluded one, no upload aborted twice, no listing that loops.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses

from handler.obs import ObsClient
from tests.conftest import SECRET_SENTINEL, TOKEN_SENTINEL
from tests.reliability.hostile import (
    ANY_URL,
    BUCKET,
    ENDPOINT,
    VALID_ID,
    Entry,
    Page,
    ScriptedObs,
    count_keyless,
    hostile_context,
    http_date,
    iso,
    now,
    parse_sent,
    run,
    timer,
)
from tests.reliability.metrics import FIGURES, scenario

DAYS = timedelta(days=1)
MINUTES = timedelta(minutes=1)
OLD = 3 * DAYS
FAST = {"check_activity": False, "verify_aborts": False}


def old(key: str | None, upload_id: str | None = VALID_ID) -> Entry:
    return Entry(key, upload_id, iso(now() - OLD))


def sweep(pages: dict[str | None, Page], settings: dict[str, Any] | None = None,
          context: Any = None, **scripted: Any) -> tuple[dict[str, Any], ScriptedObs]:
    server = ScriptedObs(pages, **scripted)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        reply = run(timer(**(settings or {})), context or hostile_context())
    count_keyless(server.sent)
    return reply, server


# -- class 2: no request without a key and an uploadId ------------------------------------

KEYLESS_ENTRIES = {
    "empty Key": Entry("", VALID_ID, None),
    "missing Key": Entry(None, VALID_ID, None),
    "empty UploadId": Entry("k", "", None),
    "missing UploadId": Entry("k", None, None),
    "both empty": Entry("", "", None),
    "both missing": Entry(None, None, None),
    "missing Key, empty UploadId": Entry(None, "", None),
}


@pytest.mark.parametrize("settings", [FAST, {}, {"dry_run": True}, {"verify_mode": "parts"}],
                         ids=["fast", "defaults", "dry-run", "verify-by-parts"])
@pytest.mark.parametrize("name", sorted(KEYLESS_ENTRIES))
def test_listed_uploads_without_key_or_id_are_errors_never_requests(
        name: str, settings: dict[str, Any]) -> None:
    template = KEYLESS_ENTRIES[name]
    bad = Entry(template.key, template.upload_id, iso(now() - OLD))
    good = old("data/good.bin", "1" * 32)
    reply, server = sweep({None: Page([bad, good])}, {"min_age": "24h", **settings})
    about_uploads = [s for s in server.sent if s.targets_upload]
    assert all(s.key and s.query.get("uploadId", "").strip() for s in about_uploads), about_uploads
    assert {(s.key, s.query["uploadId"]) for s in server.deletes} <= {("data/good.bin", "1" * 32)}
    if not settings.get("dry_run"):
        assert reply["summary"]["aborted"] == 1  # the good entry of the same page still goes
    assert reply["errors"], "the bad entry must be reported"
    scenario("listing entries with empty or missing Key/UploadId: reported, no request")


CLIENT_CALLS = {
    "abort, empty key": ("abortMultipartUpload", ("", VALID_ID)),
    "abort, empty uploadId": ("abortMultipartUpload", ("k", "")),
    "abort, both empty": ("abortMultipartUpload", ("", "")),
    "listParts, empty key": ("listParts", ("", VALID_ID)),
    "listParts, empty uploadId": ("listParts", ("k", "")),
    "listParts, both empty": ("listParts", ("", "")),
}


@pytest.mark.parametrize("path_style", [False, True], ids=["virtual-host", "path-style"])
@pytest.mark.parametrize("name", sorted(CLIENT_CALLS))
def test_the_client_refuses_calls_without_key_or_upload_id(name: str, path_style: bool) -> None:
    method, (key, upload_id) = CLIENT_CALLS[name]
    client = ObsClient("AK", SECRET_SENTINEL, ENDPOINT, security_token=TOKEN_SENTINEL,
                       path_style=path_style, max_retry_count=0)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.DELETE, ANY_URL, status=204)
        mock.add(responses.GET, ANY_URL, status=200, body="<ListPartsResult/>")
        result = getattr(client, method)(BUCKET, key, upload_id)
        sent = [parse_sent(c.request.method or "", c.request.url or "") for c in mock.calls]
    count_keyless(sent)
    assert sent == [], f"{name}: {sent}"
    assert result.status is not None and result.status >= 400 and result.errorCode


# -- class 3: the cautious clock ------------------------------------------------------------

def young_by_our_clock(minutes: int = 10) -> Entry:
    return Entry("tmp/young.bin", VALID_ID, iso(now() - minutes * MINUTES))


UNTRUSTED_DATES = {
    "a year ahead": lambda: http_date(now() + 365 * DAYS),
    "30 days ahead": lambda: http_date(now() + 30 * DAYS),
    "an hour ahead": lambda: http_date(now() + 60 * MINUTES),
    "16 minutes ahead": lambda: http_date(now() + 16 * MINUTES),
    "a year behind": lambda: http_date(now() - 365 * DAYS),
    "year 9999": lambda: "Fri, 31 Dec 9999 23:59:59 GMT",
    "year 1": lambda: "Mon, 01 Jan 0001 00:00:00 GMT",
    "missing": lambda: "",
    "no zone": lambda: now().strftime("%a, %d %b %Y %H:%M:%S"),
    "-0000 (zone unknown)": lambda: now().strftime("%a, %d %b %Y %H:%M:%S -0000"),
    "garbage": lambda: "yesterday-ish",
    "ISO instead of RFC 1123": lambda: now().isoformat(),
    "far zone offset": lambda: "Fri, 27 Nov 2026 00:00:00 +9959",
    "epoch": lambda: "Thu, 01 Jan 1970 00:00:00 GMT",
}


def _date_label(name: str) -> str:
    return name


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
@pytest.mark.parametrize("name", sorted(UNTRUSTED_DATES))
def test_an_untrusted_listing_date_aborts_nothing(name: str, dry_run: bool) -> None:
    # Ten minutes old on our clock; old enough only on the server's bad one (min_age 1h).
    date = UNTRUSTED_DATES[name]
    entries = [young_by_our_clock(), Entry("tmp/old.bin", "2" * 32, iso(now() - OLD))]
    reply, server = sweep({None: Page(entries, date=date)},
                          {"min_age": "1h", "dry_run": dry_run, **FAST})
    FIGURES["uploads aborted on a skewed clock"] += len(server.deletes)
    assert server.deletes == []
    assert reply["summary"]["aborted"] == 0
    assert reply["errors"], "the report must say why nothing was aborted"
    if dry_run:  # a dry run still reports what it saw
        assert reply["uploads"] or reply["summary"]["seen"]
    scenario("listing Date untrusted (ahead, behind, year 9999, missing, no zone, -0000): nothing aborted, dry runs report")


def test_a_later_page_cannot_make_an_upload_older() -> None:
    # Page 2 claims to be 14 minutes later (inside the 15-minute bound): an upload 23h50m
    # old on page 1's clock must not pass a 24h min_age on page 2's.
    first = Page([old("a/1.bin", "1" * 32)], truncated=True, next_key="a/1.bin", next_id="1" * 32)
    second = Page([Entry("a/2.bin", "2" * 32, iso(now() - 24 * 60 * MINUTES + 10 * MINUTES))],
                  date=lambda: http_date(now() + 14 * MINUTES))
    reply, server = sweep({None: first, "a/1.bin": second}, {"min_age": "24h", **FAST})
    FIGURES["uploads aborted on a skewed clock"] += sum(s.key == "a/2.bin" for s in server.deletes)
    assert [s.key for s in server.deletes] == ["a/1.bin"]
    assert reply["summary"]["aborted"] == 1 and reply["summary"]["skipped_young"] == 1
    scenario("page 2 dated 14 min later: cannot age an upload past min_age")


@pytest.mark.parametrize("gap", [30 * DAYS, 2 * DAYS, -30 * DAYS], ids=["+30d", "+2d", "-30d"])
def test_pages_far_apart_abort_nothing_on_the_odd_page(gap: timedelta) -> None:
    first = Page([young_by_our_clock(5)], truncated=True, next_key="tmp/young.bin",
                 next_id=VALID_ID)
    second = Page([Entry("tmp/z.bin", "3" * 32, iso(now() - 10 * MINUTES))],
                  date=lambda: http_date(now() + gap))
    reply, server = sweep({None: first, "tmp/young.bin": second}, {"min_age": "1h", **FAST})
    FIGURES["uploads aborted on a skewed clock"] += len(server.deletes)
    assert server.deletes == [] and reply["errors"]
    scenario("two listing pages days apart: nothing aborted")


@pytest.mark.parametrize("ahead", [30 * DAYS, 365 * DAYS, 2 * timedelta(hours=1)],
                         ids=["30d", "1y", "2h"])
def test_a_parts_page_dated_ahead_cannot_make_a_young_part_stale(ahead: timedelta) -> None:
    # The upload is old; its part arrived 5 minutes ago. The parts page's Date claims the
    # future: judged on it, the part would be older than min_age.
    def parts(key: str, upload_id: str) -> tuple[list[str], str | None]:
        return [iso(now() - 5 * MINUTES)], http_date(now() + ahead)

    reply, server = sweep({None: Page([old("busy.bin")])}, {"min_age": "1h"}, parts=parts)
    FIGURES["uploads aborted on a skewed clock"] += len(server.deletes)
    assert server.deletes == []
    assert reply["summary"]["skipped_active"] == 1
    scenario("ListParts dated ahead: a 5-minute-old part keeps its upload")


@pytest.mark.parametrize("bound, ahead, aborted", [
    ("2h", 60 * MINUTES, 1), ("15m", 60 * MINUTES, 0), ("1m", 5 * MINUTES, 0),
    ("30m", 20 * MINUTES, 1), ("0s", 5 * MINUTES, 0),
])
@pytest.mark.parametrize("where", ["user data", "environment"])
def test_sweep_max_clock_skew_is_honoured(bound: str, ahead: timedelta, aborted: int, where: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    context = hostile_context()
    if where == "environment":
        monkeypatch.setenv("SWEEP_MAX_CLOCK_SKEW", bound)
    else:
        context.user_data["SWEEP_MAX_CLOCK_SKEW"] = bound
    page = Page([Entry("k", VALID_ID, iso(now() - 25 * 60 * MINUTES))],
                date=lambda: http_date(now() + ahead))
    reply, server = sweep({None: page}, {"min_age": "24h", **FAST}, context=context)
    if not aborted:
        FIGURES["uploads aborted on a skewed clock"] += len(server.deletes)
    assert len(server.deletes) == aborted
    assert reply["summary"]["aborted"] == aborted
    assert bool(reply["errors"]) == (not aborted)


EDGE_INITIATED = {
    "year 9999": "9999-12-31T23:59:59.999Z",
    "year 1": "0001-01-01T00:00:00Z",
    "no zone": "2020-01-01T00:00:00",
    "garbage": "not-a-date",
    "empty": "",
    "nine fraction digits": "2020-01-01T00:00:00.123456789Z",
    "leap second": "2016-12-31T23:59:60Z",
    "month 13": "2020-13-01T00:00:00Z",
}
# Timestamps in the future or unreadable: never an "old enough" upload or part. A leap
# second is a real instant (obs/dates.py reads 23:59:60 as the next minute's first).
UNKNOWN_OR_FUTURE = {"year 9999", "garbage", "empty", "month 13", "year 9999 at -14:00"}


def check_edge_initiated(name: str, value: str) -> None:
    entries = [Entry("edge.bin", VALID_ID, value), old("plain.bin", "4" * 32)]
    reply, server = sweep({None: Page(entries)}, {"min_age": "24h", **FAST})
    assert "summary" in reply, reply.get("errorMessage")
    deleted = {s.key for s in server.deletes}
    assert deleted <= {"plain.bin", "edge.bin"} and "plain.bin" in deleted
    if name in UNKNOWN_OR_FUTURE:
        assert "edge.bin" not in deleted
    scenario("listing Initiated at the edges of time: no crash, no abort on an unknown age")


def check_edge_part(name: str, value: str) -> None:
    def parts(key: str, upload_id: str) -> tuple[list[str], str | None]:
        return [value], None

    reply, server = sweep({None: Page([old("p.bin")])}, {"min_age": "24h"}, parts=parts)
    assert "summary" in reply, reply.get("errorMessage")
    if name in UNKNOWN_OR_FUTURE:
        assert server.deletes == []  # a part of unknown or future time means active
    scenario("ListParts LastModified at the edges of time: no crash")


@pytest.mark.parametrize("name", sorted(EDGE_INITIATED))
def test_edge_initiated_times_never_crash_a_sweep(name: str) -> None:
    check_edge_initiated(name, EDGE_INITIATED[name])


@pytest.mark.parametrize("name", sorted(EDGE_INITIATED))
def test_edge_part_times_never_crash_a_sweep(name: str) -> None:
    check_edge_part(name, EDGE_INITIATED[name])


# -- class 5: what the server says is checked -----------------------------------------------

OUTSIDE = {
    "another folder": "database/prod.bak",
    "the prefix without its slash": "tmp",
    "upper case": "TMP/x.bin",
    "a look-alike slash": "tmp\u2215x.bin",
    "a sibling": "tmpfile",
    "the root": "x.bin",
    "a leading slash": "/tmp/x.bin",
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_a_server_that_ignores_prefix_gets_nothing_outside_it_aborted(name: str) -> None:
    entries = sorted([old(OUTSIDE[name], "5" * 32), old("tmp/inside.bin", "6" * 32)],
                     key=lambda e: e.key or "")
    reply, server = sweep({None: Page(entries)}, {"min_age": "24h", "prefixes": ["tmp/"], **FAST})
    wrong = [s for s in server.deletes if not (s.key or "").startswith("tmp/")]
    FIGURES["uploads wrongly aborted"] += len(wrong)
    assert [s.key for s in server.deletes] == ["tmp/inside.bin"]
    assert reply["summary"]["skipped_outside"] == 1
    scenario("server ignores prefix= and lists keys outside it: not aborted")


@pytest.mark.parametrize("key", ["keep/x.bin", "keep/deep/y.bin", "tmp/keep/z.bin"])
def test_excluded_prefixes_are_rechecked_on_what_is_listed(key: str) -> None:
    entries = sorted([old(key, "7" * 32), old("other.bin", "8" * 32)], key=lambda e: e.key or "")
    reply, server = sweep({None: Page(entries)},
                          {"min_age": "24h", "exclude_prefixes": ["keep/", "tmp/keep/"], **FAST})
    assert [s.key for s in server.deletes] == ["other.bin"]
    assert reply["summary"]["skipped_excluded"] == 1


def marker_pages(cycle: list[str]) -> dict[str | None, Page]:
    """Truncated pages whose NextKeyMarker walks ``cycle`` (and then round it again)."""
    pages: dict[str | None, Page] = {}
    asked: list[str | None] = [None, *cycle]
    for index, marker in enumerate(asked):
        nxt = cycle[index % len(cycle)] if index < len(cycle) else cycle[0]
        pages.setdefault(marker, Page([old(f"{nxt}-entry", f"{index + 10:032d}")], truncated=True,
                                      next_key=nxt, next_id=f"{index:032d}"))
    return pages


CYCLES = {
    "m, c, m": ["m", "c"],
    "m, m (same id)": ["m"],
    "b, a": ["b", "a"],
    "z, y, x": ["z", "y", "x"],
}


@pytest.mark.parametrize("name", sorted(CYCLES))
def test_markers_that_go_backwards_stop_the_listing(name: str) -> None:
    reply, server = sweep(marker_pages(CYCLES[name]), {"min_age": "24h", **FAST})
    assert len(server.listings) <= len(CYCLES[name]) + 2, "the listing looped"
    assert reply["errors"], "a listing that goes backwards must be reported"
    counts: dict[tuple[str | None, str], int] = {}
    for s in server.deletes:
        counts[(s.key, s.query["uploadId"])] = counts.get((s.key, s.query["uploadId"]), 0) + 1
    assert all(n == 1 for n in counts.values())
    scenario("listing markers going backwards or repeating: stopped with an error, bounded requests")


def test_same_key_marker_with_cycling_upload_ids_stops() -> None:
    pages = {
        None: Page([old("m", "1" * 32)], truncated=True, next_key="m", next_id="1" * 32),
        "m": Page([old("m", "2" * 32)], truncated=True, next_key="m", next_id="1" * 32),
    }
    reply, server = sweep(pages, {"min_age": "24h", **FAST})
    assert len(server.listings) <= 3 and reply["errors"]


REPEATS = {
    "on the next page": (
        Page([old("a", "1" * 32), old("b", "2" * 32)], truncated=True, next_key="b", next_id="2" * 32),
        Page([old("b", "2" * 32), old("c", "3" * 32)])),
    "twice on one page": (
        Page([old("a", "1" * 32), old("a", "1" * 32), old("b", "2" * 32)]), None),
    "behind the marker": (
        Page([old("a", "1" * 32), old("b", "2" * 32)], truncated=True, next_key="b", next_id="2" * 32),
        Page([old("a", "1" * 32), old("c", "3" * 32)])),
    "the whole page again": (
        Page([old("a", "1" * 32), old("b", "2" * 32)], truncated=True, next_key="b", next_id="2" * 32),
        Page([old("a", "1" * 32), old("b", "2" * 32), old("c", "3" * 32)])),
}


@pytest.mark.parametrize("verify", [False, True], ids=["unverified", "verified"])
@pytest.mark.parametrize("name", sorted(REPEATS))
def test_an_upload_listed_twice_is_aborted_and_counted_once(name: str, verify: bool) -> None:
    first, second = REPEATS[name]
    pages = {None: first} if second is None else {None: first, "b": second}
    reply, server = sweep(pages, {"min_age": "24h", "check_activity": False,
                                  "verify_aborts": verify})
    ids = [s.query["uploadId"] for s in server.deletes]
    assert sorted(ids) == sorted(set(ids)), f"aborted twice: {ids}"
    distinct = {(e.key, e.upload_id) for page in pages.values() for e in page.entries}
    assert reply["summary"]["aborted"] == len(distinct) == len(ids)
    assert reply["summary"]["seen"] == len(distinct)
    scenario("an upload listed twice (same page, next page, behind the marker): one DELETE, counted once")
