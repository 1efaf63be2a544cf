"""The inventory on real S3-compatible servers (moto; Ceph RGW under ``make test-rgw``).

boto3 is the witness: what it lists (every upload, every part) is what the inventory must
count, special keys included; nothing is ever aborted; the lifecycle rules boto3 puts are
the ones the inventory reads; the page and JSON put into REPORT_BUCKET are readable back.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from handler.inventory.aggregate import top_prefix
from tests.conftest import invoke
from tests.integration.test_local_server import (
    PART,
    SETTLE_S,
    boto3_upload,
    in_progress,
    special_keys,
    timer_event,
)
from tests.inventory.pagecheck import read, resolve
from tools.localcontext import LocalContext
from tools.rgw import witness_key

if TYPE_CHECKING:
    from tests.integration.conftest import Target

pytestmark = pytest.mark.integration
INVENTORY = {"mode": "inventory", "min_age": "2s", "force": True, "exclude_prefixes": ["keep/"]}


def held(s3: Any, bucket: str) -> dict[str, dict[str, int]]:
    """What the server holds, per top-level prefix and in total, as boto3 reads it: every
    page of the listing, every page of each upload's parts."""
    stats: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "bytes": 0, "parts": 0})
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            key = witness_key(upload["Key"])
            parts = [part for parts_page in s3.get_paginator("list_parts").paginate(
                Bucket=bucket, Key=key, UploadId=upload["UploadId"])
                for part in parts_page.get("Parts", [])]
            for slot in (stats[top_prefix(key)], stats["*total*"]):
                slot["count"] += 1
                slot["parts"] += len(parts)
                slot["bytes"] += sum(part["Size"] for part in parts)
    return dict(stats)


def counted(stats: dict[str, Any]) -> dict[str, int]:
    return {name: stats[name] for name in ("count", "bytes", "parts")}


@pytest.fixture
def uploads(server: Target, bucket: str, s3: Any, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """Every special key with 0-2 parts of assorted sizes, one under keep/, made in key
    order; listing pages of 3 uploads (so RGW pages on special keys; moto does not page)."""
    import handler.obs.paging as paging

    monkeypatch.setattr(paging, "MAX_PAGE", 3)
    made = set()
    for index, key in enumerate(sorted([*special_keys(server), "keep/ mine+1%.bin"])):
        made.add((key, boto3_upload(s3, bucket, key, parts=index % 3, size=PART * (index + 1))))
    time.sleep(SETTLE_S)  # past min_age on the server's clock: the verdicts are settled
    return made


def context(server: Target, bucket: str, timeout: float = 120, **extra: str) -> LocalContext:
    return LocalContext(server.settings(ALLOWED_BUCKETS=bucket, **extra), timeout, quiet=True)


def test_inventory_counts_what_the_server_holds(server: Target, bucket: str, s3: Any,
                                                uploads: set[tuple[str, str]]) -> None:
    reply = invoke(timer_event(buckets=[bucket], **INVENTORY), context(server, bucket))
    assert reply["errors"] == [] and reply["continuation"] is None, reply["errors"]
    report = reply["inventory"]
    witness = held(s3, bucket)
    assert counted(report["total"]) == witness.pop("*total*")
    assert report["total"]["count"] == len(uploads) and report["total"]["unsized"] == 0
    prefixes = report["buckets"][bucket]["prefixes"]
    assert {p: counted(s) for p, s in prefixes.items()} == witness
    # A dry run of the same settings: the inventory's verdicts are the sweep's.
    settings = {k: v for k, v in INVENTORY.items() if k != "mode"}
    sweep = invoke(timer_event(buckets=[bucket], dry_run=True, **settings), context(server, bucket))
    assert report["total"]["sweep"]["selected"] == {
        "count": sweep["summary"]["would_abort"], "bytes": sweep["summary"]["bytes_would_reclaim"]}
    assert report["buckets"][bucket]["has_abort_rule"] is False  # no configuration: normal
    assert in_progress(s3, bucket) == uploads  # nothing aborted


def test_inventory_across_invocations_counts_each_upload_once(
        server: Target, bucket: str, s3: Any, uploads: set[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request costs a second of a budget of a few: many invocations, each resumed
    inside a page on a special key (moto ignores the markers and lists everything again)."""
    from handler.obs.client import ObsClient

    clock = {"now": 1000.0}
    original = ObsClient.request

    def ticking(self: ObsClient, *args: Any, **kwargs: Any) -> Any:
        clock["now"] += 1.0
        return original(self, *args, **kwargs)

    witness = held(s3, bucket)["*total*"]
    monkeypatch.setattr(time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(ObsClient, "request", ticking)
    budget = 5 + 6  # the safety margin and six requests
    reply = invoke(timer_event(buckets=[bucket], **INVENTORY, concurrency=1),
                   context(server, bucket, budget))
    markers = []
    while reply["continuation"] is not None and len(markers) < 4 * len(uploads):
        markers.append(reply["continuation"]["key_marker"])
        event = json.loads(json.dumps({"continuation": reply["continuation"]}))
        reply = invoke(event, context(server, bucket, budget))
    monkeypatch.undo()
    assert reply["continuation"] is None and reply["errors"] == [], reply["errors"]
    assert len(markers) > 2 and any(m in {k for k, _ in uploads} for m in markers), markers
    assert counted(reply["inventory"]["total"]) == witness
    assert in_progress(s3, bucket) == uploads


def test_lifecycle_rules_on_the_server(server: Target, bucket: str, s3: Any,
                                       uploads: set[tuple[str, str]]) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "abort-long", "Status": "Enabled", "Filter": {"Prefix": "long/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}},
        {"ID": "expire-only", "Status": "Enabled", "Filter": {"Prefix": "keep/"},
         "Expiration": {"Days": 30}},
    ]})
    reply = invoke(timer_event(buckets=[bucket], **INVENTORY), context(server, bucket))
    assert reply["errors"] == []
    whole = reply["inventory"]["buckets"][bucket]
    assert whole["has_abort_rule"] is True
    covered = whole["all"]["lifecycle"]["covered"]
    long_keys = [k for k, _ in uploads if k.startswith("long/")]
    assert covered["count"] == len(long_keys) == 1
    assert whole["all"]["lifecycle"]["janitor_only"]["count"] == len(uploads) - 1
    assert whole["prefixes"]["long/"]["lifecycle"]["covered"]["bytes"] == held(s3, bucket)["long/"]["bytes"]


def test_report_bucket_holds_the_page_and_its_json(server: Target, bucket: str, s3: Any,
                                                  uploads: set[tuple[str, str]]) -> None:
    reports = f"{bucket}-rep"
    s3.create_bucket(Bucket=reports)
    ctx = LocalContext(server.settings(ALLOWED_BUCKETS=f"{bucket},{reports}",
                                       REPORT_BUCKET=reports, REPORT_PREFIX="inv/run 1+/"),
                       120, quiet=True)
    reply = invoke(timer_event(buckets=[bucket], **INVENTORY), ctx)
    assert reply["errors"] == [], reply["errors"]
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=reports).get("Contents", [])}
    assert listed == set(reply["published"]["objects"]) and len(listed) == 2
    bodies = {key: s3.get_object(Bucket=reports, Key=key) for key in listed}
    (json_key,) = [k for k in listed if k.endswith(".json")]
    (html_key,) = [k for k in listed if k.endswith(".html")]
    assert json_key.startswith("inv/run 1+/")
    assert bodies[json_key]["ContentType"] == "application/json"
    assert bodies[html_key]["ContentType"].startswith("text/html")
    report = json.loads(bodies[json_key]["Body"].read())
    assert report == reply["inventory"]
    assert counted(report["total"]) == held(s3, bucket)["*total*"]
    page = read(bodies[html_key]["Body"].read().decode("utf-8"))
    assert page.metrics
    for metric in page.metrics:
        assert json.loads(metric["value"]) == resolve(report, metric["pointer"]), metric["pointer"]
