"""Inventory runs (``"mode": "inventory"``) against the in-memory stand-in, through `responses`.

Every figure is checked against what the stand-in holds, computed here from its state,
never against numbers written into the test.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from handler.inventory.aggregate import AGE_BINS, age_bin, top_prefix
from tests.conftest import (
    ANY_BUCKET_URL,
    ENDPOINT,
    FakeContext,
    budget_clock,
    charge_per_request,
    invoke,
    timer,
    wire,
)
from tests.inventory.pagecheck import read, resolve
from tools.standin import FakeObs

if TYPE_CHECKING:
    import responses

    from tools.standin import FakeUpload

HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)
MIB = 1024 * 1024
BUCKET = "examplebucket"
INVENTORY = {"buckets": [BUCKET], "mode": "inventory", "min_age": "24h",
             "exclude_prefixes": ["keep/"]}
# Ages away from the histogram's bin edges (1 h, 24 h, 7 d, 30 d), so that the seconds a
# run takes cannot move an upload into the next bin.
AGES = [10 * 60, 5 * HOURS.total_seconds(), 3 * DAYS.total_seconds(),
        12 * DAYS.total_seconds(), 45 * DAYS.total_seconds()]


def lifecycle_xml(*rules: tuple[str, str, int | None, str]) -> str:
    """A LifecycleConfiguration of (id, prefix, abort days or None, status) rules, in
    OBS's classic shape (<Prefix> directly in <Rule>)."""
    body = "".join(
        f"<Rule><ID>{rule_id}</ID><Prefix>{prefix}</Prefix><Status>{status}</Status>"
        + (f"<AbortIncompleteMultipartUpload><DaysAfterInitiation>{days}"
           "</DaysAfterInitiation></AbortIncompleteMultipartUpload>" if days is not None
           else "<Expiration><Days>30</Days></Expiration>")
        + "</Rule>"
        for rule_id, prefix, days, status in rules)
    return f'<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration>{body}</LifecycleConfiguration>'


def populate(state: FakeObs, bucket: str = BUCKET, count: int = 1500) -> list[FakeUpload]:
    """Uploads over several top-level prefixes, with 0-3 parts of assorted sizes, some with
    a recent part; two listing pages at 1,000 uploads a page."""
    made = []
    for n in range(count):
        prefix = ("data/", "logs/", "keep/", "", "tmp/")[n % 5]
        age = timedelta(seconds=AGES[(n // 5) % len(AGES)])
        parts = n % 4
        part_ages = [age - timedelta(minutes=1)] * parts
        if n % 7 == 0 and parts:
            part_ages[-1] = timedelta(minutes=30)  # still being written
        made.append(state.add_upload(bucket, f"{prefix}{n:05d}.bin", age=age, part_ages=part_ages,
                                     part_size=MIB + n,
                                     initiator=f"domain/d:user/u{n % 3}"))
    return made


def sizes(upload: FakeUpload) -> tuple[int, int]:
    return len(upload.parts), sum(size for _, _, size in upload.parts)


def expected_stats(uploads: list[FakeUpload]) -> dict[str, Any]:
    """count, bytes, parts and the age histogram, from the stand-in's own records."""
    now = datetime.now(timezone.utc)
    age: dict[str, list[int]] = {name: [0, 0] for name in AGE_BINS}
    for upload in uploads:
        slot = age[AGE_BINS[age_bin((now - upload.initiated).total_seconds())]]
        slot[0] += 1
        slot[1] += sizes(upload)[1]
    return {"count": len(uploads), "bytes": sum(sizes(u)[1] for u in uploads),
            "parts": sum(sizes(u)[0] for u in uploads),
            "age": {name: {"count": c, "bytes": b} for name, (c, b) in age.items()}}


def stats_of(stats: dict[str, Any]) -> dict[str, Any]:
    return {name: stats[name] for name in ("count", "bytes", "parts", "age")}


def test_counts_bytes_and_parts_are_what_the_stand_in_holds(context: FakeContext,
                                                            stand_in: FakeObs) -> None:
    uploads = populate(stand_in)
    reply = invoke(timer(**INVENTORY), context)
    assert reply["mode"] == "inventory" and reply["continuation"] is None
    assert reply["errors"] == []
    report = reply["inventory"]
    assert stats_of(report["total"]) == expected_stats(uploads)
    assert report["total"]["unsized"] == 0
    by_prefix = report["buckets"][BUCKET]["prefixes"]
    assert set(by_prefix) == {top_prefix(u.key) for u in uploads}
    for prefix, stats in by_prefix.items():
        assert stats_of(stats) == expected_stats([u for u in uploads if top_prefix(u.key) == prefix])
    initiators = report["total"]["initiators"]["counts"]
    assert initiators == {f"domain/d:user/u{i}": sum(1 for n in range(len(uploads)) if n % 3 == i)
                          for i in range(3)}
    oldest = report["total"]["oldest"]
    # The listing gives milliseconds: uploads made within one are ranked by key.
    def rank(u: FakeUpload) -> tuple[datetime, str, str]:
        return u.initiated.replace(microsecond=u.initiated.microsecond // 1000 * 1000), u.key, u.upload_id

    assert [(o["key"], o["upload_id"]) for o in oldest] == [
        (u.key, u.upload_id) for u in sorted(uploads, key=rank)[:10]]
    assert stand_in.requests["DELETE"] == 0


def test_verdicts_are_what_a_dry_run_sweep_decides(context: FakeContext, stand_in: FakeObs) -> None:
    populate(stand_in)
    settings = {k: v for k, v in INVENTORY.items() if k != "mode"}
    sweep = invoke(timer(**settings, dry_run=True), context)["summary"]
    report = invoke(timer(**INVENTORY), context)["inventory"]
    verdicts = report["total"]["sweep"]["by_verdict"]
    counts = {name: slot["count"] for name, slot in verdicts.items()}
    assert counts == {name: sweep[name] for name in counts}
    assert sum(counts.values()) == sweep["seen"] == report["total"]["count"]
    assert report["total"]["sweep"]["selected"] == {
        "count": sweep["would_abort"], "bytes": sweep["bytes_would_reclaim"]}
    assert stand_in.requests["DELETE"] == 0


@pytest.mark.parametrize("dry_run", [False, True])
def test_nothing_is_ever_aborted(context: FakeContext, stand_in: FakeObs, dry_run: bool) -> None:
    uploads = populate(stand_in, count=300)
    before = stand_in.remaining(BUCKET)
    reply = invoke(timer(**{**INVENTORY, "min_age": "1h"}, dry_run=dry_run, check_activity=False),
                   context)
    selected = reply["inventory"]["total"]["sweep"]["selected"]["count"]
    assert selected == sum(1 for u in uploads if not u.key.startswith("keep/")
                           and datetime.now(timezone.utc) - u.initiated > HOURS)
    assert stand_in.requests["DELETE"] == 0 and not stand_in.aborts
    assert stand_in.remaining(BUCKET) == before


def test_lifecycle_coverage_per_bucket(lenient_obs: responses.RequestsMock) -> None:
    state = FakeObs()
    ruled = [state.add_upload("ruled", key, age=age, part_ages=[age], part_size=1000)
             for key, age in (("tmp/a", 2 * DAYS), ("tmp/b", 9 * DAYS), ("other/c", 2 * DAYS))]
    bare = state.add_upload("bare", "x", age=2 * DAYS, part_ages=[DAYS])
    state.add_upload("denied", "y", age=2 * DAYS)
    state.lifecycles["ruled"] = lifecycle_xml(("abort-tmp", "tmp/", 3, "Enabled"),
                                              ("off", "", 1, "Disabled"),
                                              ("expire", "", None, "Enabled"))
    denied = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
              "<Message>Access Denied</Message><RequestId>SR1</RequestId></Error>")

    def deny(method: str, bucket: str, key: str | None, query: dict[str, str]) -> Any:
        if bucket == "denied" and "lifecycle" in query:
            return 403, {"Content-Type": "application/xml", "x-obs-request-id": "SR1"}, denied
        return None

    state.fault = deny
    wire(lenient_obs, state)
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT,
                                     "ALLOWED_BUCKETS": "ruled,bare,denied"})
    reply = invoke(timer(buckets=["ruled", "bare", "denied"], mode="inventory"), context)
    report = reply["inventory"]
    buckets = report["buckets"]
    assert [buckets[b]["has_abort_rule"] for b in ("ruled", "bare", "denied")] == [True, False, None]
    assert report["buckets_without_abort_rule"] == ["bare"]
    assert len(reply["errors"]) == 1
    assert reply["errors"][0]["bucket"] == "denied" and "403" in reply["errors"][0]["error"]
    assert "AccessDenied" in reply["errors"][0]["error"]
    covered = buckets["ruled"]["all"]["lifecycle"]["covered"]
    assert (covered["count"], covered["bytes"]) == (2, 2000)
    # 00:00 UTC of the day after initiation, plus three days; then up to 48 h of lag.
    first = min(u.initiated for u in ruled[:2])
    midnight = datetime.combine(first.astimezone(timezone.utc).date(), time(0), tzinfo=timezone.utc)
    assert covered["eligible_from_min"] == (midnight + 4 * DAYS).isoformat().replace("+00:00", "Z")
    assert covered["overdue"]["count"] == 1  # tmp/b, 9 days old under a 3-day rule
    janitor = {b: buckets[b]["all"]["lifecycle"]["janitor_only"]["count"] for b in buckets}
    assert janitor == {"ruled": 1, "bare": 1, "denied": 1}
    oldest = {o["key"]: o for o in buckets["ruled"]["all"]["oldest"]}
    assert oldest["tmp/a"]["rule_id"] == "abort-tmp" and oldest["other/c"]["rule_id"] is None
    assert buckets["bare"]["all"]["bytes"] == sizes(bare)[1]
    assert state.requests["DELETE"] == 0


def test_continuation_counts_each_upload_exactly_once(context: FakeContext, stand_in: FakeObs,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    uploads = populate(stand_in, count=2500)
    clock = charge_per_request(monkeypatch, stand_in)  # a second of budget per request
    context.remaining_ms = 5_000 + 700 * 1000  # the 5 s margin plus ~700 requests
    reply = invoke(timer(**INVENTORY, concurrency=4), context)
    counts = [reply["inventory"]["total"]["count"]]
    while reply["continuation"] is not None and len(counts) < 20:
        clock["now"] = 0.0
        # As FunctionGraph hands it over: JSON, not Python objects.
        event = json.loads(json.dumps({"continuation": reply["continuation"]}))
        reply = invoke(event, context)
        counts.append(reply["inventory"]["total"]["count"])
    assert reply["continuation"] is None and len(counts) > 3, counts
    assert counts == sorted(counts) and len(set(counts)) == len(counts)  # progress every time
    assert reply["errors"] == []
    assert stats_of(reply["inventory"]["total"]) == expected_stats(uploads)
    assert stand_in.requests["DELETE"] == 0


def test_a_server_relisting_its_marker_upload_does_not_count_it_twice(
        context: FakeContext, stand_in: FakeObs, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed listing whose server lists from the marker's key inclusively (the marker's
    own upload again) still counts every upload once."""
    uploads = populate(stand_in, count=1200)
    clock = budget_clock(monkeypatch)

    def inclusive(method: str, bucket: str, key: str | None, query: dict[str, str]) -> Any:
        clock["now"] += 1.0
        if "uploads" in query and query.get("key-marker"):
            return stand_in.answer_normally(method, bucket, key,
                                            {**query, "upload-id-marker": ""})
        return None

    stand_in.fault = inclusive
    context.remaining_ms = 5_000 + 400 * 1000
    reply = invoke(timer(**INVENTORY, concurrency=2), context)
    invocations = 1
    markers = []
    while reply["continuation"] is not None and invocations < 20:
        markers.append(reply["continuation"]["key_marker"])
        clock["now"] = 0.0
        reply = invoke({"continuation": reply["continuation"]}, context)
        invocations += 1
    assert reply["continuation"] is None and len(markers) > 2 and all(markers), markers
    assert stats_of(reply["inventory"]["total"]) == expected_stats(uploads)


def test_a_page_out_of_key_order_is_counted_whole(context: FakeContext, stand_in: FakeObs,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that ignores the markers and lists out of key order (as moto does, in
    creation order): a page cut short by the budget is counted again whole, never resumed
    after an upload whose successors in that order are not after it by key."""
    import re

    uploads = populate(stand_in, count=300)
    clock = budget_clock(monkeypatch)

    def reversed_and_unpaged(method: str, bucket: str, key: str | None,
                             query: dict[str, str]) -> Any:
        clock["now"] += 1.0
        if "uploads" not in query:
            return None
        unmarked = {k: v for k, v in query.items() if k not in ("key-marker", "upload-id-marker")}
        status, headers, body = stand_in.answer_normally(method, bucket, key, unmarked)
        items = re.findall(r"<Upload>.*?</Upload>", body)
        start, end = body.index(items[0]), body.index(items[-1]) + len(items[-1])
        return status, headers, body[:start] + "".join(reversed(items)) + body[end:]

    stand_in.fault = reversed_and_unpaged
    context.remaining_ms = 5_000 + 100 * 1000  # a third of the page
    first = invoke(timer(**INVENTORY, concurrency=2), context)
    assert first["continuation"]["key_marker"] is None
    assert first["inventory"]["total"]["count"] == 0
    context.remaining_ms = 5_000 + 1000 * 1000
    clock["now"] = 0.0
    reply = invoke({"continuation": first["continuation"]}, context)
    assert reply["continuation"] is None
    assert stats_of(reply["inventory"]["total"]) == expected_stats(uploads)


def test_overlapping_prefixes_count_once(context: FakeContext, stand_in: FakeObs) -> None:
    uploads = populate(stand_in, count=200)
    reply = invoke(timer(**{**INVENTORY, "prefixes": ["data/", "", "data/", "logs/"]}), context)
    assert stats_of(reply["inventory"]["total"]) == expected_stats(uploads)


def test_out_of_budget_from_the_start_hands_everything_on(stand_in: FakeObs) -> None:
    populate(stand_in, count=10)
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": BUCKET},
                          remaining_ms=1_000)  # below the 5 s safety margin
    reply = invoke(timer(**INVENTORY), context)
    assert reply["inventory"]["total"]["count"] == 0
    assert reply["continuation"]["bucket"] == BUCKET and reply["continuation"]["key_marker"] is None


def put_objects(mock: responses.RequestsMock, state: FakeObs) -> None:
    mock.add_callback("PUT", ANY_BUCKET_URL, callback=state.responses_callback("PUT"))


def test_report_bucket_gets_the_page_and_its_json(stand_in: FakeObs,
                                                  lenient_obs: responses.RequestsMock) -> None:
    uploads = populate(stand_in, count=40)
    stand_in.buckets["reports-bucket"] = {}
    put_objects(lenient_obs, stand_in)
    context = FakeContext(user_data={
        "OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": f"{BUCKET},reports-bucket",
        "REPORT_BUCKET": "reports-bucket", "REPORT_PREFIX": "inv/",
        "STORAGE_PRICE_PER_GB_MONTH": "0.023"})
    reply = invoke(timer(**INVENTORY), context)
    assert reply["errors"] == []
    put = {key: value for (bucket, key), value in stand_in.objects.items()
           if bucket == "reports-bucket"}
    assert len(put) == 2 and stand_in.requests["PUT"] == 2
    assert set(reply["published"]["objects"]) == set(put)
    assert all(o["status"] == 200 for o in reply["published"]["objects"].values())
    (html_key, (html_body, html_headers)), = [(k, v) for k, v in put.items() if k.endswith(".html")]
    (json_key, (json_body, json_headers)), = [(k, v) for k, v in put.items() if k.endswith(".json")]
    assert html_key.startswith("inv/") and json_key == html_key[:-5] + ".json"
    assert html_headers["Content-Type"].startswith("text/html")
    assert json_headers["Content-Type"] == "application/json"
    report = json.loads(json_body)
    assert report == reply["inventory"]
    assert report["total"]["count"] == len(uploads)
    assert report["total"]["bytes"] == sum(sizes(u)[1] for u in uploads)
    assert report["total"]["cost"]["monthly"] == pytest.approx(report["total"]["bytes"] / 2**30 * 0.023)
    page = read(html_body.decode("utf-8"))
    assert page.metrics
    for metric in page.metrics:
        assert json.loads(metric["value"]) == resolve(report, metric["pointer"]), metric["pointer"]
    shown = {m["pointer"]: json.loads(m["value"]) for m in page.metrics}
    assert shown["#/total/count"] == len(uploads)
    assert stand_in.requests["DELETE"] == 0


def test_a_report_bucket_that_is_no_bucket_name_is_a_config_error(
        stand_in: FakeObs, lenient_obs: responses.RequestsMock) -> None:
    """Not a bucket name: it would address another host, even with ALLOWED_BUCKETS=*."""
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": "*",
                                     "REPORT_BUCKET": "evil.example.com/x"})
    reply = invoke(timer(**INVENTORY), context)
    assert reply["errorCode"] == "ConfigError" and reply["errorMessage"].startswith("REPORT_BUCKET")
    assert len(lenient_obs.calls) == 0


@pytest.mark.parametrize(("allowed", "report_bucket"), [
    (BUCKET, "reports-bucket"),           # not in ALLOWED_BUCKETS
])
def test_a_report_bucket_that_is_not_allowed_gets_nothing(
        stand_in: FakeObs, lenient_obs: responses.RequestsMock, allowed: str,
        report_bucket: str) -> None:
    populate(stand_in, count=5)
    stand_in.buckets["reports-bucket"] = {}
    put_objects(lenient_obs, stand_in)
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": allowed,
                                     "REPORT_BUCKET": report_bucket})
    reply = invoke(timer(**INVENTORY), context)
    assert stand_in.requests["PUT"] == 0 and not stand_in.objects
    assert "nothing was put" in reply["published"]["error"]
    assert [e for e in reply["errors"] if "REPORT_BUCKET" in e["error"]]
    assert reply["inventory"]["total"]["count"] == 5


def test_a_failed_put_is_an_error(stand_in: FakeObs, lenient_obs: responses.RequestsMock) -> None:
    populate(stand_in, count=3)
    put_objects(lenient_obs, stand_in)  # "reports-bucket" does not exist: 404 NoSuchBucket
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT,
                                     "ALLOWED_BUCKETS": f"{BUCKET},reports-bucket",
                                     "REPORT_BUCKET": "reports-bucket"})
    reply = invoke(timer(**INVENTORY), context)
    statuses = [o["status"] for o in reply["published"]["objects"].values()]
    assert statuses == [404, 404]
    assert len([e for e in reply["errors"] if "could not be put" in e["error"]]) == 2


def test_refusals_send_nothing(obs: responses.RequestsMock) -> None:
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": BUCKET})
    reply = invoke(timer(**{**INVENTORY, "buckets": [BUCKET, "private-data"]}), context)
    assert (reply["status"], reply["errorCode"]) == (403, "BucketNotAllowed")
    tampered = {"continuation": {"bucket": BUCKET, "prefix": "", "settings": INVENTORY,
                                 "inventory": {"version": 1, "buckets": "nope"}}}
    reply = invoke(tampered, context)
    assert (reply["status"], reply["errorCode"]) == (400, "InvalidEvent")
    assert "inventory" in reply["errorMessage"]
    assert len(obs.calls) == 0


# -- python -m tools.invoke inventory ----------------------------------------------------

def cli(*args: str) -> list[str]:
    return ["inventory", "--bucket", BUCKET, "--endpoint", ENDPOINT, "--quiet",
            "--set", "OBS_ACCESS_KEY_ID=AK-LOCAL", "--set", f"OBS_SECRET_ACCESS_KEY={SECRET}",
            *args]


SECRET = "SECRET-SENTINEL-7f3a9c"  # tests/conftest.py's sentinel: a leak fails the session


def test_cli_follows_continuations_until_the_count_is_whole(
        stand_in: FakeObs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Any) -> None:
    from tools.invoke import EXIT_OK, main

    uploads = populate(stand_in, count=2500)
    charge_per_request(monkeypatch, stand_in)  # a second of budget per request
    page = tmp_path / "inventory.html"
    status = main(cli("--exclude-prefix", "keep/", "--timeout", "705", "--concurrency", "4",
                      "--json", "--html", str(page)))
    reply = json.loads(capsys.readouterr().out)
    assert status == EXIT_OK and reply["continuation"] is None and reply["invocations"] > 3
    assert stats_of(reply["inventory"]["total"]) == expected_stats(uploads)
    marked = read(page.read_text(encoding="utf-8")).metrics
    assert {m["pointer"]: json.loads(m["value"]) for m in marked}["#/total/count"] == len(uploads)
    assert all(json.loads(m["value"]) == resolve(reply["inventory"], m["pointer"]) for m in marked)
    assert stand_in.requests["DELETE"] == 0


def test_cli_summary_and_its_exit_statuses(stand_in: FakeObs,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from tools.invoke import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_REFUSED, main

    uploads = populate(stand_in, count=30)
    # No lifecycle configuration can be read: an error, so the exit status is 1.
    stand_in.fault = lambda method, bucket, key, query: (
        (403, {}, "<Error><Code>AccessDenied</Code></Error>") if "lifecycle" in query else None)
    assert main(cli("--set", "STORAGE_PRICE_PER_GB_MONTH=0.023")) == EXIT_FAILED
    text = capsys.readouterr().out
    assert text.startswith(f"{len(uploads)} incomplete upload(s), "
                           f"{sum(sizes(u)[1] for u in uploads):,} bytes")
    assert "per GB-month" in text and "lifecycle unknown" in text and "AccessDenied" in text
    # Out of budget from the start: the continuation comes back unchanged, the loop stops.
    assert main(cli("--timeout", "1")) == EXIT_INCOMPLETE
    assert "incomplete" in capsys.readouterr().out
    assert main(cli("--bucket", "Not_A_Bucket")) == EXIT_REFUSED
    assert stand_in.requests["DELETE"] == 0
