"""``make demo``: the whole job on the embedded local server, no cloud account needed.

A third-party client (boto3) starts a dozen multipart uploads with a few parts each and
completes one; then the real handler is driven with the sample events from events/: an
abandonment, a batch, an object event and a timer sweep (dry run, then for real), then an
inventory of what is left, drawn as a page (dist/inventory-demo.html, and its PNG where
Chromium is installed). Exits non-zero if anything does not happen as shown.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from handler.index import handler
from tools.localcontext import LocalContext
from tools.localobs import local_obs

EVENTS = "events"
BUCKET = "examplebucket"
DIST = Path(__file__).resolve().parents[1] / "dist"
# An example price for the demo's cost figures only (docs/inventory.md: where it is from).
DEMO_PRICE = "0.023"
failures: list[str] = []


def load(name: str) -> Any:
    with open(f"{EVENTS}/{name}", encoding="utf-8") as handle:
        return json.load(handle)


def step(title: str) -> None:
    print(f"\n== {title}")


def check(condition: bool, what: str) -> None:
    print(f"   {'ok ' if condition else 'FAIL'} {what}")
    if not condition:
        failures.append(what)


def start_upload(s3: Any, key: str, parts: int = 2) -> str:
    upload_id: str = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    for number in range(1, parts + 1):
        s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number,
                       Body=b"x" * (5 * 1024 * 1024 if number < parts else 1024))
    return upload_id


def remaining(s3: Any) -> dict[str, str]:
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return {u["UploadId"]: u["Key"] for u in uploads}


def held_bytes(s3: Any) -> int:
    """The bytes the server holds in parts of incomplete uploads, as boto3 lists them."""
    return sum(part["Size"] for upload_id, key in remaining(s3).items()
               for part in s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)["Parts"])


def inventory_page(s3: Any, settings: dict[str, str]) -> None:
    """An inventory of what is left; the page's figures checked against the server's."""
    from handler.inventory.page import render_html
    from tests.inventory.chromium import find_chromium, screenshot
    from tests.inventory.pagecheck import read

    step("inventory (\"mode\": \"inventory\"): what is left, what it costs, what cleans it")
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        {"ID": "abort-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})
    print("   (boto3 puts a lifecycle rule: abort uploads under tmp/ 7 days after initiation)")
    event = load("timer.json")
    event["user_event"] = json.dumps({"buckets": [BUCKET], "mode": "inventory",
                                      "exclude_prefixes": ["keep/"], "min_age": "3s",
                                      "force": True})
    before = remaining(s3)
    reply = handler(event, LocalContext({**settings, "STORAGE_PRICE_PER_GB_MONTH": DEMO_PRICE},
                                        120, quiet=True))
    total = reply["inventory"]["total"]
    lifecycle = total["lifecycle"]
    print(f"   {total['count']} upload(s), {total['bytes']:,} bytes in {total['parts']} part(s); "
          f"a rule covers {lifecycle['covered']['count']} (overdue "
          f"{lifecycle['covered']['overdue']['count']}: moto dates every upload 2010), only the "
          f"janitor cleans {lifecycle['janitor_only']['count']}")
    check(reply["errors"] == [] and reply["continuation"] is None, "no errors, done in one go")
    check(remaining(s3) == before, "nothing was aborted")
    check((total["count"], total["bytes"]) == (len(before), held_bytes(s3)),
          "count and bytes equal what boto3 lists")
    DIST.mkdir(exist_ok=True)
    page = DIST / "inventory-demo.html"
    page.write_text(render_html(reply["inventory"]), encoding="utf-8")
    shown = {m["pointer"]: json.loads(m["value"]) for m in read(page.read_text("utf-8")).metrics}
    check((shown.get("#/total/count"), shown.get("#/total/bytes")) == (len(before), total["bytes"]),
          f"the page shows the server's count ({len(before)}) and bytes")
    print(f"   page: {page}")
    chromium = find_chromium()
    if chromium is None:
        print("   (no PNG: chromium is not installed; tools/install-chromium.sh installs it)")
        return
    png = DIST / "inventory-demo.png"
    png.unlink(missing_ok=True)
    try:
        screenshot(page, png, (1200, 1400), binary=chromium)
    except (OSError, subprocess.SubprocessError) as exc:
        check(False, f"chromium renders the page ({type(exc).__name__})")
        return
    check(png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "chromium renders it")
    print(f"   picture: {png}")


def main() -> int:
    with local_obs() as server:
        print(f"embedded S3-compatible server (moto) at {server.endpoint}")
        print("its upload IDs are ~56 characters, not OBS's 32: UPLOAD_ID_FORMAT=relaxed is set")
        s3 = server.boto3_client()
        s3.create_bucket(Bucket=BUCKET)
        settings = server.settings(ALLOWED_BUCKETS=BUCKET, OBJECT_EVENT_GRACE="2s",
                                   OBJECT_EVENT_FORCE="true")  # demo-only: seconds, not hours

        def run(event: Any) -> Any:
            return handler(event, LocalContext(settings, 120, quiet=True))

        step("boto3 starts 12 multipart uploads and completes one")
        single = load("abort.json")
        batch = load("abort-batch.json")
        ids = {"single": start_upload(s3, single["objectKey"])}
        ids["logs"] = start_upload(s3, batch["uploads"][1]["objectKey"])
        ids["pdf"] = start_upload(s3, batch["uploads"][2]["objectKey"])
        written = "backups/db+2024-01-02.tar"
        ids["orphan"] = start_upload(s3, written)        # an attempt its uploader gave up on
        done = start_upload(s3, written)                   # the retry that succeeded
        s3.complete_multipart_upload(Bucket=BUCKET, Key=written, UploadId=done, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": p["ETag"]} for n, p in enumerate(
                s3.list_parts(Bucket=BUCKET, Key=written, UploadId=done)["Parts"], start=1)]})
        ids["signature"] = start_upload(s3, written + ".sig", parts=1)
        for n in range(4):
            ids[f"tmp{n}"] = start_upload(s3, f"tmp/chunk-{n}.bin", parts=1)
        ids["keep"] = start_upload(s3, "keep/important.bin", parts=1)
        check(len(remaining(s3)) == 10, f"11 started, 10 in progress, {written} completed")
        time.sleep(3)  # let the uploads age past the demo's 2 s grace and 3 s min_age

        step("abandonment event (events/abort.json) -> AbortMultipartUpload")
        event = {**single, "uploadId": ids["single"]}
        result = run(event)
        print(f"   GetResult: status={result['status']} reason={result['reason']}")
        check(result["status"] == 204, "204 No Content")
        check(ids["single"] not in remaining(s3), "the upload is gone")

        step("batch (events/abort-batch.json), its first upload already aborted")
        event = copy.deepcopy(batch)
        for item, key in zip(event["uploads"], ("single", "logs", "pdf"), strict=True):
            item["uploadId"] = ids[key]
        report = run(event)
        for entry in report["results"]:
            print(f"   {entry['objectKey']}: {entry['outcome']} ({entry['result']['status']})")
        check([e["outcome"] for e in report["results"]] == ["already_gone", "aborted", "aborted"],
              "already_gone, aborted, aborted")

        step(f"object event (events/obs-trigger-obs.json): {written} was written")
        event = load("obs-trigger-obs.json")
        event["Records"][0]["eventTime"] = datetime.now(timezone.utc).isoformat()
        reply = run(event)["records"][0]
        print(f"   {reply['outcome']}: aborted {reply['summary']['aborted']} orphaned attempt(s)")
        check(ids["orphan"] not in remaining(s3), "the orphaned attempt on the same key is gone")
        check(ids["signature"] in remaining(s3), "an upload on another key is untouched")

        ids["young"] = start_upload(s3, "tmp/just-started.bin", parts=1)
        print("\n   (a 12th upload starts now: tmp/just-started.bin)")
        for dry_run in (True, False):
            step(f"timer sweep (events/timer.json), {'dry run' if dry_run else 'for real'}"
                 " - demo-only min_age of 3s with force: true")
            event = load("timer.json")
            event["user_event"] = json.dumps({"buckets": [BUCKET], "exclude_prefixes": ["keep/"],
                                              "min_age": "3s", "force": True, "dry_run": dry_run})
            report = run(event)
            summary = report["summary"]
            print(f"   seen {summary['seen']}: would abort {summary['would_abort']}, aborted "
                  f"{summary['aborted']}, kept young {summary['skipped_young']}, active "
                  f"{summary['skipped_active']}, excluded {summary['skipped_excluded']}; "
                  f"bytes reclaimed {summary['bytes_reclaimed']:,}")
            expected = 5  # the .sig upload and the four tmp/chunk uploads
            if dry_run:
                check(summary["would_abort"] == expected and len(remaining(s3)) == 7,
                      f"{expected} would be aborted, nothing was")
            else:
                check(summary["aborted"] == expected, f"{expected} stale uploads aborted")
            # moto reports every upload as initiated in 2010, so age alone would condemn the
            # upload that just started: its fresh part is what keeps it (the activity check).
            check(summary["skipped_active"] == 1 and summary["skipped_excluded"] == 1,
                  "the just-started (active) and the excluded upload are kept")

        step("what remains, and why")
        left = remaining(s3)
        why = {ids["keep"]: "excluded prefix keep/",
               ids["young"]: "active: a part arrived within min_age (moto dates every upload 2010)"}
        for upload_id, key in sorted(left.items(), key=lambda item: item[1]):
            print(f"   {key}: {why.get(upload_id, 'UNEXPECTED')}")
        check(set(left) == set(why), "only the excluded and the active upload remain")
        inventory_page(s3, settings)
    outcome = "FAILED: " + "; ".join(failures) if failures else "finished: every step as shown"
    print(f"\ndemo {outcome}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
