"""The sweep engine against an in-memory client: no HTTP, only the engine's rules.

``FakeClient`` answers the three calls the engine makes with the GetResults the real
client returns; what it does wrong (a sticky abort, a 404 for a listed upload, failures,
a skewed or missing Date) is set per test.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from handler.events.timer import Cursor
from handler.logs import DecisionLog
from handler.obs import GetResult, ObsTransportError
from handler.obs.listings import (
    Initiator,
    ListMultipartUploadsResponse,
    ListPartsResponse,
    Part,
    Upload,
)
from handler.runtime import Budget
from handler.sweep.engine import EngineOptions, Sweeper
from handler.sweep.policy import Policy
from handler.sweep.report import SweepReport

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ME = "domain/owner:user/uploader"
Ident = tuple[str, str]


@dataclass
class Stored:
    key: str
    upload_id: str
    initiated: datetime
    initiator: str = ME
    parts: list[Part] = field(default_factory=list)


class FakeClient:
    """listMultipartUploads / listParts / abortMultipartUpload over a dict of uploads."""

    def __init__(self, page_size: int = 2) -> None:
        self.now = datetime.now(timezone.utc)
        self.page_size = page_size
        self.uploads: dict[Ident, Stored] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.aborted: list[Ident] = []
        self.date_offset: timedelta | None = timedelta(0)  # None: no Date header
        self.echoes_url_encoding: bool | None = None  # what ObsClient learns from listings
        self.sticky: dict[Ident, int] = {}        # 204s that leave the upload listed
        self.abort_status: dict[Ident, int] = {}  # an error status for every abort
        self.abort_raises: set[Ident] = set()     # no response at all
        self.parts_404: set[Ident] = set()        # ListParts says NoSuchUpload, still listed
        self.vanish_on_parts: set[Ident] = set()  # completed by its uploader before ListParts
        self.list_status = 200

    def add(self, key: str, age: timedelta, *, who: str = ME,
            part_ages: list[timedelta] | None = None, part_size: int = 5) -> Ident:
        upload_id = f"U{len(self.uploads):04d}"
        parts = [Part(partNumber=n + 1, lastModified=self.now - a, size=part_size)
                 for n, a in enumerate(part_ages or [])]
        self.uploads[(key, upload_id)] = Stored(key, upload_id, self.now - age, who, parts)
        return key, upload_id

    def _headers(self) -> list[tuple[str, str]]:
        if self.date_offset is None:
            return [("x-obs-request-id", "r")]
        return [("Date", format_datetime(datetime.now(timezone.utc) + self.date_offset, usegmt=True))]

    def listMultipartUploads(self, bucketName: str, prefix: str | None = None, delimiter: str | None = None,
                             max_uploads: int | None = None, key_marker: str | None = None,
                             upload_id_marker: str | None = None, encoding_type: str | None = None,
                             deadline: float | None = None) -> GetResult:
        self.calls.append(("list", key_marker or "", upload_id_marker or ""))
        if self.list_status != 200:
            return GetResult(status=self.list_status, errorCode="InternalError", header=self._headers())
        listed = sorted(i for i in self.uploads if i[0].startswith(prefix or ""))
        if key_marker is not None:
            listed = [i for i in listed if i > (key_marker, upload_id_marker or "")]
        page, more = listed[:self.page_size], len(listed) > self.page_size
        body = ListMultipartUploadsResponse(
            bucket=bucketName, isTruncated=more, encoding_type=encoding_type,  # OBS echoes it
            nextKeyMarker=page[-1][0] if more else None, nextUploadIdMarker=page[-1][1] if more else None,
            upload=[Upload(key=s.key, uploadId=s.upload_id, initiator=Initiator(id=s.initiator),
                           initiated=s.initiated) for s in (self.uploads[i] for i in page)])
        return GetResult(status=200, header=self._headers(), body=body)

    def listParts(self, bucketName: str, objectKey: str, uploadId: str, max_parts: int | None = None,
                  part_number_marker: int | None = None, encoding_type: str | None = None,
                  deadline: float | None = None) -> GetResult:
        ident = (objectKey, uploadId)
        self.calls.append(("parts", objectKey, uploadId))
        if ident in self.vanish_on_parts:
            self.uploads.pop(ident, None)
        if ident in self.parts_404 or ident not in self.uploads:
            return GetResult(status=404, errorCode="NoSuchUpload", header=self._headers())
        parts = self.uploads[ident].parts
        return GetResult(status=200, header=self._headers(), body=ListPartsResponse(parts=parts))

    def abortMultipartUpload(self, bucketName: str, objectKey: str, uploadId: str,
                             extensionHeaders: Any = None, deadline: float | None = None) -> GetResult:
        ident = (objectKey, uploadId)
        self.calls.append(("abort", objectKey, uploadId))
        self.aborted.append(ident)
        if ident in self.abort_raises:
            raise ObsTransportError("https://obs.example.com", ConnectionError("reset"), 1)
        if ident in self.abort_status:
            return GetResult(status=self.abort_status[ident], errorCode="InternalError")
        if ident not in self.uploads:
            return GetResult(status=404, errorCode="NoSuchUpload")
        if self.sticky.get(ident, 0) > 0:
            self.sticky[ident] -= 1
        else:
            del self.uploads[ident]
        return GetResult(status=204, requestId="req")

    def count(self, call: str) -> int:
        return sum(1 for c in self.calls if c[0] == call)


class Silent:
    def info(self, line: str) -> None:
        pass


class Context:
    def getLogger(self) -> Silent:
        return Silent()


def sweeper(client: FakeClient, policy: Policy | None = None, budget: Budget | None = None,
            **options: Any) -> Sweeper:
    opts = EngineOptions(**{"concurrency": 4, **options})
    report = SweepReport(dry_run=opts.dry_run, log=DecisionLog(Context()))
    return Sweeper(budget or Budget(None), client, policy or Policy(min_age=DAY), report, opts)  # type: ignore[arg-type]


def run(engine: Sweeper, start: Cursor | None = None) -> tuple[Cursor | None, dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=engine.options.concurrency) as pool:
        resume = engine.run(start or Cursor(bucket="examplebucket"), pool)
    return resume, dict(engine.report.to_dict(None))


def outcomes(reply: dict[str, Any]) -> dict[Ident, str]:
    return {(e["key"], e["uploadId"]): e["outcome"] for e in reply["uploads"]}


# -- selection --------------------------------------------------------------------------

def test_only_stale_included_uploads_of_this_initiator_are_aborted() -> None:
    client = FakeClient(page_size=2)
    stale = {client.add("data/a", 3 * DAY), client.add("data/b", 2 * DAY)}
    young = client.add("data/c", HOUR)
    excluded = client.add("keep/d", 3 * DAY)
    other = client.add("data/e", 3 * DAY, who="someone-else")
    engine = sweeper(client, Policy(min_age=DAY, exclude_prefixes=("keep/",), initiator=ME))
    resume, reply = run(engine)
    assert resume is None
    assert set(client.aborted) == stale and len(client.aborted) == 2
    assert outcomes(reply) == {**dict.fromkeys(stale, "aborted"), young: "skipped_young",
                               excluded: "skipped_excluded", other: "skipped_initiator"}
    summary = reply["summary"]
    assert (summary["seen"], summary["selected"], summary["pages"]) == (5, 2, 3)


def test_a_server_that_ignores_the_prefix_gets_nothing_outside_it_aborted() -> None:
    client = FakeClient()
    inside = client.add("data/a", 3 * DAY)
    outside = client.add("other/a", 3 * DAY)
    original = client.listMultipartUploads

    def ignoring_prefix(bucketName: str, prefix: str | None = None, **kwargs: Any) -> GetResult:
        return original(bucketName, None, **kwargs)

    client.listMultipartUploads = ignoring_prefix  # type: ignore[method-assign]
    _, reply = run(sweeper(client), Cursor(bucket="examplebucket", prefix="data/"))
    assert client.aborted == [inside]
    assert outcomes(reply)[outside] == "skipped_outside"


# -- activity ---------------------------------------------------------------------------

def test_a_young_part_keeps_an_old_upload_and_old_parts_give_the_bytes() -> None:
    client = FakeClient()
    active = client.add("a", 3 * DAY, part_ages=[3 * DAY, HOUR])
    idle = client.add("b", 3 * DAY, part_ages=[3 * DAY, 2 * DAY], part_size=7)
    _, reply = run(sweeper(client))
    assert client.aborted == [idle]
    assert outcomes(reply) == {active: "skipped_active", idle: "aborted"}
    assert reply["summary"]["bytes_reclaimed"] == 14


def test_without_the_activity_check_no_parts_are_listed() -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY, part_ages=[HOUR])
    _, reply = run(sweeper(client, check_activity=False))
    assert client.aborted == [upload] and client.count("parts") == 0
    assert outcomes(reply) == {upload: "aborted"}


def test_a_parts_404_for_a_listed_upload_is_a_failure_not_an_abort() -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY)
    client.parts_404.add(upload)
    _, reply = run(sweeper(client))
    assert client.aborted == []
    [entry] = reply["uploads"]
    assert (entry["outcome"], entry["errorCode"], entry["verified"]) == ("failed", "ListedAfterNoSuchUpload", False)


def test_an_upload_completed_before_its_parts_are_listed_is_already_gone() -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY)
    client.vanish_on_parts.add(upload)
    _, reply = run(sweeper(client))
    assert client.aborted == []
    [entry] = reply["uploads"]
    assert (entry["outcome"], entry["verified"]) == ("already_gone", True)


# -- confirmation by re-listing -----------------------------------------------------------

# 204s that leave the upload listed -> (outcome, verified, errorCode, aborts sent)
STICKY = {
    "gone at once": (0, "aborted", True, None, 1),
    "gone after the repeat": (1, "aborted", True, None, 2),
    "still listed after the repeat": (5, "failed", False, "StillListed", 2),
}


@pytest.mark.parametrize(("sticky", "outcome", "verified", "code", "aborts"), list(STICKY.values()), ids=list(STICKY))
def test_each_abort_is_confirmed_by_listing_again(sticky: int, outcome: str, verified: bool,
                                                  code: str | None, aborts: int) -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY)
    client.sticky[upload] = sticky
    _, reply = run(sweeper(client))
    [entry] = reply["uploads"]
    assert (entry["outcome"], entry["verified"], entry.get("errorCode")) == (outcome, verified, code)
    assert client.aborted == [upload] * aborts
    assert client.count("list") >= 2  # the page, then its confirmation


def test_one_confirming_listing_serves_a_whole_page() -> None:
    client = FakeClient(page_size=1000)
    for n in range(10):
        client.add(f"k/{n:02d}", 3 * DAY)
    _, reply = run(sweeper(client))
    assert reply["summary"]["aborted"] == 10 and client.count("list") == 2


def test_without_verification_an_abort_is_believed() -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY)
    client.sticky[upload] = 5
    _, reply = run(sweeper(client, verify_aborts=False))
    assert outcomes(reply) == {upload: "aborted"} and client.count("list") == 1


def test_a_dry_run_sends_no_abort_and_says_what_it_would_reclaim() -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY, part_ages=[2 * DAY], part_size=9)
    _, reply = run(sweeper(client, dry_run=True))
    assert client.aborted == [] and outcomes(reply) == {upload: "would_abort"}
    assert reply["summary"]["bytes_would_reclaim"] == 9 and reply["summary"]["bytes_reclaimed"] == 0


@pytest.mark.parametrize(("fault", "code"), [("status", "InternalError"), ("raises", "TransportError")])
def test_a_failed_abort_is_reported_failed(fault: str, code: str) -> None:
    client = FakeClient()
    upload = client.add("a", 3 * DAY)
    if fault == "status":
        client.abort_status[upload] = 500
    else:
        client.abort_raises.add(upload)
    _, reply = run(sweeper(client))
    [entry] = reply["uploads"]
    assert (entry["outcome"], entry["errorCode"]) == ("failed", code)
    assert not engine_clean(reply)


def engine_clean(reply: dict[str, Any]) -> bool:
    return reply["summary"]["failed"] == 0 and not reply["errors"]


# -- deferral ---------------------------------------------------------------------------

def test_max_aborts_defers_the_rest_and_the_cursor_resumes_without_loss() -> None:
    client = FakeClient(page_size=1000)
    uploads = [client.add(f"k/{n}", 3 * DAY) for n in range(5)]
    resume, first = run(sweeper(client, max_aborts=2, concurrency=1))
    assert client.aborted == uploads[:2]
    assert first["summary"]["deferred"] == 3
    assert resume == Cursor(bucket="examplebucket", key_marker=uploads[1][0], upload_id_marker=uploads[1][1])
    again, second = run(sweeper(client), resume)
    assert again is None and client.aborted == uploads  # each exactly once
    assert second["summary"]["aborted"] == 3


def test_a_spent_budget_starts_nothing_and_resumes_where_it_began() -> None:
    client = FakeClient()
    client.add("a", 3 * DAY)
    client.add("b", 3 * DAY)
    start = Cursor(bucket="examplebucket", prefix="")
    resume, reply = run(sweeper(client, budget=Budget(time.monotonic() - 1)), start)
    assert client.aborted == [] and client.count("parts") == 0
    assert resume == start and reply["summary"]["deferred"] == 2


def test_a_listing_that_fails_midway_resumes_there() -> None:
    client = FakeClient(page_size=2)
    for key in "abcd":
        client.add(key, 3 * DAY)
    original = client.listMultipartUploads
    answered = []

    def second_page_fails(*args: Any, **kwargs: Any) -> GetResult:
        if kwargs.get("key_marker") == "b" and not answered:
            answered.append(1)
            raise ObsTransportError("https://obs.example.com", TimeoutError("slow"), 1)
        return original(*args, **kwargs)

    client.listMultipartUploads = second_page_fails  # type: ignore[method-assign]
    resume, reply = run(sweeper(client))
    assert [k for k, _ in client.aborted] == ["a", "b"]
    assert resume is not None and resume.key_marker == "b"
    assert "no response" in reply["errors"][0]["error"]


def test_a_listing_error_status_stops_the_listing_with_an_error() -> None:
    client = FakeClient()
    client.add("a", 3 * DAY)
    client.list_status = 500
    resume, reply = run(sweeper(client))
    assert resume is None and client.aborted == []
    assert reply["errors"][0]["status"] == 500


# -- circuit breaker --------------------------------------------------------------------

def test_consecutive_failures_open_the_circuit_and_leave_the_rest_for_later() -> None:
    client = FakeClient(page_size=1000)
    uploads = [client.add(f"k/{n}", 3 * DAY) for n in range(8)]
    for upload in uploads:
        client.abort_status[upload] = 503
    engine = sweeper(client, concurrency=1, max_consecutive_failures=3)
    resume, reply = run(engine)
    assert engine.circuit_open and client.aborted == uploads[:3]
    assert reply["summary"]["failed"] == 3 and reply["summary"]["deferred"] == 5
    assert resume is not None and (resume.key_marker, resume.upload_id_marker) == uploads[2]
    assert any("circuit breaker open after 3 consecutive failures" in e["error"] for e in reply["errors"])


def test_a_success_resets_the_failure_run() -> None:
    client = FakeClient(page_size=1000)
    uploads = [client.add(f"k/{n}", 3 * DAY) for n in range(6)]
    for upload in uploads[:2] + uploads[3:5]:
        client.abort_status[upload] = 503
    engine = sweeper(client, concurrency=1, max_consecutive_failures=3)
    resume, reply = run(engine)
    assert not engine.circuit_open and resume is None
    assert reply["summary"]["failed"] == 4 and reply["summary"]["aborted"] == 2


# -- the clock --------------------------------------------------------------------------

# Date offset from our clock -> what a real run and a dry run do with a stale upload
CLOCKS = {
    "agrees": (timedelta(0), "aborted", "would_abort"),
    "within the bound": (timedelta(minutes=10), "aborted", "would_abort"),
    "beyond the bound, ahead": (timedelta(hours=1), "skipped_clock", "would_abort"),
    "beyond the bound, behind": (-timedelta(hours=1), "skipped_clock", "would_abort"),
    "no Date header": (None, "skipped_clock", "skipped_clock"),
}


@pytest.mark.parametrize(("offset", "real", "dry"), list(CLOCKS.values()), ids=list(CLOCKS))
def test_only_a_trusted_clock_selects(offset: timedelta | None, real: str, dry: str) -> None:
    for dry_run, expected in ((False, real), (True, dry)):
        client = FakeClient()
        upload = client.add("a", 3 * DAY)
        client.date_offset = offset
        _, reply = run(sweeper(client, dry_run=dry_run, max_clock_skew=timedelta(minutes=15)))
        assert outcomes(reply) == {upload: expected}, dry_run
        if expected != "aborted":
            assert client.aborted == []
        if real == "skipped_clock":
            assert reply["errors"], "a distrusted page says why"


def test_ages_are_measured_on_the_servers_clock() -> None:
    """OBS ten minutes ahead: an upload 23 h 55 min old by our clock is 24 h 5 min old by
    OBS's, and OBS's clock is the one that counts."""
    client = FakeClient()
    upload = client.add("a", DAY - timedelta(minutes=5))
    client.date_offset = timedelta(minutes=10)
    run(sweeper(client))
    assert client.aborted == [upload]
