"""Uploads made by third-party clients (boto3, the official OBS SDK) on a real
S3-compatible server, aborted through our handler and checked gone by boto3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import invoke, load_event
from tools.localcontext import LocalContext

if TYPE_CHECKING:
    from tools.localobs import LocalObs

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEYS = ["plain.bin", "with space.txt", "plus+sign.bin", "中文/文件 名.pdf", "deep/a/b/c.bin"]


def boto3_upload(server: LocalObs, bucket: str, key: str, parts: int = 1) -> str:
    s3 = server.boto3_client()
    upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    for number in range(1, parts + 1):
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=b"x" * 1024)
    return upload_id


def sdk_upload(sdk: Any, bucket: str, key: str) -> str:
    started = sdk.initiateMultipartUpload(bucket, key)
    assert started.status == 200
    assert sdk.uploadPart(bucket, key, 1, started.body.uploadId, content=b"y" * 512).status == 200
    return str(started.body.uploadId)


def in_progress(server: LocalObs, bucket: str) -> set[tuple[str, str]]:
    uploads = server.boto3_client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return {(u["Key"], u["UploadId"]) for u in uploads}


def context(server: LocalObs, bucket: str, **extra: str) -> LocalContext:
    return LocalContext(server.settings(ALLOWED_BUCKETS=bucket, **extra), 120, quiet=True)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("uploader", ["boto3", "sdk"])
def test_single_abort_of_a_third_party_upload(server: LocalObs, bucket: str, sdk: Any, key: str, uploader: str) -> None:
    upload_id = boto3_upload(server, bucket, key) if uploader == "boto3" else sdk_upload(sdk, bucket, key)
    assert (key, upload_id) in in_progress(server, bucket)
    result = invoke({"bucket": bucket, "objectKey": key, "uploadId": upload_id}, context(server, bucket))
    assert result["status"] == 204
    assert (key, upload_id) not in in_progress(server, bucket)


def test_batch_with_gone_and_missing_bucket(server: LocalObs, bucket: str, sdk: Any) -> None:
    first = boto3_upload(server, bucket, KEYS[1])
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
    assert in_progress(server, bucket) == set()


def test_object_event_cleans_the_written_keys_orphans(server: LocalObs, bucket: str, sdk: Any) -> None:
    key = "reports/q3 final+v2.pdf"
    orphan_boto3 = boto3_upload(server, bucket, key)
    orphan_sdk = sdk_upload(sdk, bucket, key)
    other = boto3_upload(server, bucket, key + ".bak")
    time.sleep(2.2)
    event = load_event("obs-trigger-s3.json")
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = "reports%2Fq3+final%2Bv2.pdf"
    record["eventTime"] = datetime.now(timezone.utc).isoformat()
    reply = invoke(event, context(server, bucket, OBJECT_EVENT_GRACE="2s", OBJECT_EVENT_FORCE="true"))
    assert reply["records"][0]["summary"]["aborted"] == 2
    assert in_progress(server, bucket) == {(key + ".bak", other)}
    assert orphan_boto3 != orphan_sdk


def test_timer_sweep_and_its_dry_run(server: LocalObs, bucket: str, sdk: Any) -> None:
    made = {(k, boto3_upload(server, bucket, k)) for k in KEYS[:3]}
    made |= {(k, sdk_upload(sdk, bucket, k)) for k in KEYS[3:]}
    time.sleep(2.2)
    event = load_event("timer.json")
    settings = {"buckets": [bucket], "min_age": "2s", "force": True, "dry_run": True}
    event["user_event"] = json.dumps(settings)
    dry = invoke(event, context(server, bucket))
    assert dry["summary"]["would_abort"] == len(made) and in_progress(server, bucket) == made
    event["user_event"] = json.dumps({**settings, "dry_run": False})
    real = invoke(event, context(server, bucket))
    assert real["summary"]["aborted"] == len(made) and real["summary"]["failed"] == 0
    assert in_progress(server, bucket) == set()


def test_demo_runs_and_ends_with_the_expected_listing() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    listing = done.stdout.split("== what remains, and why")[1]
    assert "keep/important.bin: excluded prefix keep/" in listing
    assert "tmp/just-started.bin: active" in listing
    assert "demo finished: every step as shown" in done.stdout
