"""Uploads made by third-party clients (boto3, the official OBS SDK) on real S3-compatible
servers (moto, and Ceph RGW under ``make test-rgw``), cleaned through our handler. After
every run boto3 asks the server what is left, and the janitor's report must say exactly
that: what it reports aborted is gone, what it leaves is what it reported left."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest

from tests.conftest import invoke, load_event
from tools.localcontext import LocalContext
from tools.rgw import witness_key

if TYPE_CHECKING:
    from tests.integration.conftest import Target


pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEYS = ["plain.bin", "with space.txt", "plus+sign.bin", "中文/文件 名.pdf", "deep/a/b/c.bin"]
# Every character a careless client mangles somewhere: in the URL path, in a query, in
# XML, in URL-decoding (a "+" read as a space, a "%41" decoded twice), and a key of
# 1,000 characters (S3 allows 1,024 bytes).
SPECIAL = ["with space.txt", "plus+sign.bin", "percent%41%zz.bin", "amp&and.bin",
           "equals=sign.bin", "hash#tag.bin", "question?mark.bin", "tilde~x.bin",
           "中文/文件 名.pdf", "control\x1bescape.bin", "long/" + "k" * 995,
           # Paths a URL library normalises (dot segments, doubled and leading slashes),
           # whitespace a parser trims, XML's own specials, control characters XML
           # forbids or rewrites (CR becomes LF), and code points that look like nothing.
           "dots/../x.bin", "./dot.bin", "trail/..", "double//slash.bin", "/leading.bin",
           " lead space", "trail space ", "tab\tcr\r.bin", "quote\"apos'lt<gt>.bin",
           "soh\x01del\x7f.bin", "uni\u2028bom\ufeffzw\u200b.bin", "emoji\U0001f600.bin"]
# moto's server cannot route a path that holds a line feed (it answers 404), so only the
# other servers get this one.
LINE_FEED_KEY = "line\nfeed.bin"
PART = 1024
# Uploads must be older than min_age ("2s", allowed with force) on the server's clock,
# read from its Date header, which has whole seconds: wait 2 s plus that second.
SETTLE_S = 3.5


def special_keys(server: Target) -> list[str]:
    """SPECIAL, and the key with a line feed where the server can hold it."""
    return [*SPECIAL, LINE_FEED_KEY] if server.name != "moto" else list(SPECIAL)


def boto3_upload(s3: Any, bucket: str, key: str, parts: int = 1, size: int = PART) -> str:
    upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    for number in range(1, parts + 1):
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=b"x" * size)
    return upload_id


def sdk_upload(sdk: Any, bucket: str, key: str) -> str:
    started = sdk.initiateMultipartUpload(bucket, key)
    assert started.status == 200, (started.errorCode, started.errorMessage)
    assert sdk.uploadPart(bucket, key, 1, started.body.uploadId, content=b"y" * 512).status == 200
    return str(started.body.uploadId)


def in_progress(s3: Any, bucket: str) -> set[tuple[str, str]]:
    """What the server holds, as boto3 reads it, every page."""
    left: set[tuple[str, str]] = set()
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        left |= {(witness_key(u["Key"]), u["UploadId"]) for u in page.get("Uploads", [])}
    return left


def context(server: Target, bucket: str, **extra: str) -> LocalContext:
    return LocalContext(server.settings(ALLOWED_BUCKETS=bucket, **extra), 120, quiet=True)


def reported(reply: dict[str, Any], outcome: str) -> set[tuple[str, str]]:
    return {(e["key"], e["uploadId"]) for e in reply["uploads"] if e["outcome"] == outcome}


def timer_event(**settings: Any) -> dict[str, Any]:
    event = load_event("timer.json")
    event["user_event"] = json.dumps(settings)
    return dict(event)


def assert_clean_report(reply: dict[str, Any]) -> None:
    summary = reply["summary"]
    assert (summary["failed"], summary["already_gone"], reply["errors"]) == (0, 0, []), reply


@pytest.mark.parametrize(("key", "uploader"), [(k, u) for k in KEYS for u in ("boto3", "sdk")]
                         + [(k, "boto3") for k in SPECIAL if k not in KEYS])
def test_single_abort_of_a_third_party_upload(server: Target, bucket: str, s3: Any, sdk: Any,
                                              key: str, uploader: str) -> None:
    upload_id = boto3_upload(s3, bucket, key) if uploader == "boto3" else sdk_upload(sdk, bucket, key)
    assert in_progress(s3, bucket) == {(key, upload_id)}
    result = invoke({"bucket": bucket, "objectKey": key, "uploadId": upload_id}, context(server, bucket))
    assert result["status"] == 204
    assert in_progress(s3, bucket) == set()


def test_batch_with_gone_and_missing_bucket(server: Target, bucket: str, s3: Any, sdk: Any) -> None:
    first = boto3_upload(s3, bucket, KEYS[1])
    second = sdk_upload(sdk, bucket, KEYS[3])
    event = {"uploads": [
        {"bucket": bucket, "objectKey": KEYS[1], "uploadId": first},
        {"bucket": bucket, "objectKey": KEYS[3], "uploadId": second},
        {"bucket": bucket, "objectKey": KEYS[1], "uploadId": first},          # now already gone
        {"bucket": "it-no-such-bucket", "objectKey": "k", "uploadId": first},   # allowed, absent
    ]}
    ctx = LocalContext(server.settings(ALLOWED_BUCKETS=f"{bucket},it-no-such-bucket"), 120, quiet=True)
    # Sequential, so that the repeated item really comes after the first abort.
    ctx.user_data["BATCH_CONCURRENCY"] = "1"
    report = invoke(event, ctx)
    outcomes = [(r["outcome"], r["result"]["errorCode"]) for r in report["results"]]
    assert outcomes == [("aborted", None), ("aborted", None), ("already_gone", "NoSuchUpload"),
                        ("failed", "NoSuchBucket")]
    assert in_progress(s3, bucket) == set()


@pytest.mark.parametrize("key", ["reports/q3 final+v2.pdf", "percent%41%zz.bin", "control\x1bescape.bin",
                                 "中文/文件 名.pdf", "amp&and=eq#hash?q~t.bin"])
def test_object_event_cleans_the_written_keys_orphans(server: Target, bucket: str, s3: Any, key: str) -> None:
    orphans = {(key, boto3_upload(s3, bucket, key)), (key, boto3_upload(s3, bucket, key))}
    other = boto3_upload(s3, bucket, key + ".bak")
    time.sleep(SETTLE_S)
    event = load_event("obs-trigger-s3.json")
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = quote_plus(key, safe="")  # as S3 notifications encode it
    record["eventTime"] = datetime.now(timezone.utc).isoformat()
    reply = invoke(event, context(server, bucket, OBJECT_EVENT_GRACE="2s", OBJECT_EVENT_FORCE="true"))
    summary = reply["records"][0]["summary"]
    assert summary["aborted"] == 2, reply
    assert in_progress(s3, bucket) == {(key + ".bak", other)}
    assert len(orphans) == 2


def test_timer_sweep_and_its_dry_run(server: Target, bucket: str, s3: Any, sdk: Any) -> None:
    made = {(k, boto3_upload(s3, bucket, k)) for k in KEYS[:3]}
    made |= {(k, sdk_upload(sdk, bucket, k)) for k in KEYS[3:]}
    time.sleep(SETTLE_S)
    settings = {"buckets": [bucket], "min_age": "2s", "force": True, "dry_run": True}
    dry = invoke(timer_event(**settings), context(server, bucket))
    assert dry["summary"]["would_abort"] == len(made) and in_progress(s3, bucket) == made
    assert reported(dry, "would_abort") == made
    real = invoke(timer_event(**{**settings, "dry_run": False}), context(server, bucket))
    assert real["summary"]["aborted"] == len(made) and real["summary"]["failed"] == 0
    assert reported(real, "aborted") == made
    assert in_progress(s3, bucket) == set()


def test_one_object_event_with_a_record_per_special_key(server: Target, bucket: str,
                                                        s3: Any) -> None:
    """Each record cleans its own key's orphans and nothing else, whatever the key holds."""
    keys = special_keys(server)
    orphans = {key: {boto3_upload(s3, bucket, key, parts=0) for _ in range(2)} for key in keys}
    siblings = {(key + ".bak", boto3_upload(s3, bucket, key + ".bak", parts=0)) for key in keys}
    time.sleep(SETTLE_S)
    event = load_event("obs-trigger-s3.json")
    template = event["Records"][0]
    event["Records"] = []
    for key in keys:
        record = json.loads(json.dumps(template))
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["object"]["key"] = quote_plus(key, safe="")
        record["eventTime"] = datetime.now(timezone.utc).isoformat()
        event["Records"].append(record)
    reply = invoke(event, context(server, bucket, OBJECT_EVENT_GRACE="2s",
                                  OBJECT_EVENT_FORCE="true"))
    assert len(reply["records"]) == len(keys)
    for key, record in zip(keys, reply["records"], strict=True):
        assert record["summary"]["aborted"] == 2, (key, record)
        assert {(e["key"], e["uploadId"]) for e in record["uploads"]
                if e["outcome"] == "aborted"} == {(key, u) for u in orphans[key]}
    assert in_progress(s3, bucket) == siblings


@pytest.fixture
def special_uploads(server: Target, bucket: str, s3: Any, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], int]:
    """Every special key, some with parts, one kept aside by prefix; pages of 3 uploads.

    The sweep has no page-size setting, so the pager's page limit is lowered in-process:
    on RGW the listing then spans several pages, with page boundaries on special keys.
    """
    import handler.obs.paging as paging

    monkeypatch.setattr(paging, "MAX_PAGE", 3)
    sizes: dict[tuple[str, str], int] = {}
    for index, key in enumerate(special_keys(server)):
        parts = index % 3  # 0, 1 or 2 parts
        sizes[(key, boto3_upload(s3, bucket, key, parts=parts, size=PART * (index + 1)))] = \
            parts * PART * (index + 1)
    sizes[("keep/ mine+1%.bin", boto3_upload(s3, bucket, "keep/ mine+1%.bin"))] = -1
    time.sleep(SETTLE_S)
    return sizes


SWEEP = {"min_age": "2s", "force": True, "exclude_prefixes": ["keep/"]}


def test_sweep_of_special_keys_over_several_pages(server: Target, bucket: str, s3: Any,
                                                 special_uploads: dict[tuple[str, str], int]) -> None:
    stale = {u for u, size in special_uploads.items() if size >= 0}
    kept = set(special_uploads) - stale
    ctx = context(server, bucket)
    dry = invoke(timer_event(buckets=[bucket], dry_run=True, **SWEEP), ctx)
    assert_clean_report(dry)
    assert reported(dry, "would_abort") == stale
    assert in_progress(s3, bucket) == stale | kept
    assert reported(dry, "skipped_excluded") == kept
    assert dry["summary"]["bytes_would_reclaim"] == sum(special_uploads[u] for u in stale)
    if server.pages_honoured:
        assert dry["summary"]["pages"] >= len(special_uploads) // 3

    real = invoke(timer_event(buckets=[bucket], **SWEEP), ctx)
    assert_clean_report(real)
    assert reported(real, "aborted") == stale
    assert all(e["verified"] for e in real["uploads"] if e["outcome"] == "aborted")
    assert real["summary"]["bytes_reclaimed"] == sum(special_uploads[u] for u in stale)
    left = in_progress(s3, bucket)
    assert left == kept == reported(real, "skipped_excluded")


def test_continuations_resume_after_special_keys(server: Target, bucket: str, s3: Any,
                                                 special_uploads: dict[tuple[str, str], int]) -> None:
    # max_aborts stops each invocation after two aborts, mid-page: the continuation's
    # markers are special keys, handed back to the server exactly as it sent them.
    stale = {u for u, size in special_uploads.items() if size >= 0}
    ctx = context(server, bucket)
    reply = invoke(timer_event(buckets=[bucket], max_aborts=2, **SWEEP), ctx)
    aborted: list[tuple[str, str]] = []
    markers = []
    for _ in range(len(stale)):
        assert_clean_report(reply)
        aborted += sorted(reported(reply, "aborted"))
        assert in_progress(s3, bucket).isdisjoint(aborted)
        if reply["continuation"] is None:
            break
        markers.append(reply["continuation"]["key_marker"])
        reply = invoke({"continuation": reply["continuation"]}, ctx)
    assert reply["continuation"] is None and len(markers) >= len(stale) // 2 - 1
    assert sorted(aborted) == sorted(stale) and len(set(aborted)) == len(aborted)  # none twice
    assert in_progress(s3, bucket) == set(special_uploads) - stale


def test_demo_runs_and_ends_with_the_expected_listing() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    listing = done.stdout.split("== what remains, and why")[1]
    assert "keep/important.bin: excluded prefix keep/" in listing
    assert "tmp/just-started.bin: active" in listing
    assert "demo finished: every step as shown" in done.stdout


def test_a_v2_signature_with_four_slashes_reaches_the_s3_backend(_moto: Any) -> None:
    """moto reads the Authorization header as a SigV4 scope; a V2 signature with exactly
    four '/' in its base64 used to route to no backend (a 500 in about 1 of 1,500
    requests). tools/localobs.py serves S3 whatever the header looks like."""
    import urllib.request

    for signature in ("c2lnbmF0dXJl", "a/b/c/d/e=", "a/b/c/d/e/f="):
        request = urllib.request.Request(f"{_moto.endpoint}/",
                                         headers={"Authorization": f"AWS key:{signature}"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200
            assert b"ListAllMyBucketsResult" in reply.read()
