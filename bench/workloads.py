"""One benchmark workload per process: ``python -m bench.workloads NAME ENDPOINT [ARGS]``.

Each prints one JSON line. Running every workload in a fresh process keeps imports cold
where that is the point (cold start) and keeps the stand-in's CPU out of our CPU figures
(it serves from another process).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

BUCKET = "synthetic"
AK, SK = "bench-access-key", "bench-secret-key"


def _key(i: int) -> tuple[str, str]:
    return f"sweep/{i:09d}", f"{i:032X}"


class _Context:
    """A FunctionGraph context stand-in whose logger discards lines (as cheaply as the
    runtime's would buffer them)."""

    def __init__(self, endpoint: str, remaining_ms: int = 900_000) -> None:
        self.data = {"OBS_ENDPOINT": endpoint, "ALLOWED_BUCKETS": BUCKET,
                     "OBS_ACCESS_KEY_ID": AK, "OBS_SECRET_ACCESS_KEY": SK}
        self.remaining_ms = remaining_ms

    def getUserData(self, key: str) -> str | None:  # noqa: N802
        return self.data.get(key)

    def getRemainingTimeInMilliSeconds(self) -> int:  # noqa: N802
        return self.remaining_ms

    def getLogger(self) -> Any:  # noqa: N802
        return type("Quiet", (), {"info": staticmethod(lambda line: None)})()


# -- cold start ------------------------------------------------------------------------

def cold_ours(endpoint: str) -> dict[str, Any]:
    started = time.perf_counter()
    from handler.index import handler

    key, upload_id = _key(1)
    event = {"bucket": BUCKET, "objectKey": key, "uploadId": upload_id}
    result = handler(event, _Context(endpoint))
    return {"seconds": time.perf_counter() - started, "status": result["status"]}


def cold_sdk(endpoint: str) -> dict[str, Any]:
    started = time.perf_counter()
    from obs import ObsClient

    client = ObsClient(access_key_id=AK, secret_access_key=SK, server=endpoint)
    key, upload_id = _key(1)
    result = client.abortMultipartUpload(BUCKET, key, upload_id)
    return {"seconds": time.perf_counter() - started, "status": result.status}


def cold_boto3(endpoint: str) -> dict[str, Any]:
    started = time.perf_counter()
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=AK, aws_secret_access_key=SK)
    key, upload_id = _key(1)
    result = client.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)
    return {"seconds": time.perf_counter() - started,
            "status": result["ResponseMetadata"]["HTTPStatusCode"]}


# -- client CPU per signed abort ----------------------------------------------------------

def _cpu(call: Any, calls: int) -> dict[str, Any]:
    for i in range(50):  # warm: connections open, caches filled
        call(i)
    started = time.process_time()
    wall = time.perf_counter()
    for i in range(calls):
        call(i)
    cpu = time.process_time() - started
    return {"ms_per_call": cpu / calls * 1000, "wall_s": time.perf_counter() - wall, "calls": calls}


def cpu_ours(endpoint: str, calls: str) -> dict[str, Any]:
    from handler.obs import ObsClient

    client = ObsClient(AK, SK, endpoint)
    return _cpu(lambda i: client.abortMultipartUpload(BUCKET, *_key(i)), int(calls))


def cpu_sdk(endpoint: str, calls: str, long_conn: str = "0") -> dict[str, Any]:
    from obs import ObsClient

    client = ObsClient(access_key_id=AK, secret_access_key=SK, server=endpoint,
                       long_conn_mode=long_conn == "1")
    return _cpu(lambda i: client.abortMultipartUpload(BUCKET, *_key(i)), int(calls))


def cpu_boto3(endpoint: str, calls: str) -> dict[str, Any]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=AK, aws_secret_access_key=SK)

    def call(i: int) -> None:
        key, upload_id = _key(i)
        client.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)

    return _cpu(call, int(calls))


# -- instruction counts (run under callgrind by bench/run.py) -------------------------------

def icount_ours(endpoint: str, calls: str) -> dict[str, Any]:
    """Build the client, 20 warm-up aborts, then ``calls`` more: run twice with different
    ``calls``, the difference in instructions is the cost of the extra aborts alone."""
    from handler.obs import ObsClient

    client = ObsClient(AK, SK, endpoint)
    for i in range(20 + int(calls)):
        client.abortMultipartUpload(BUCKET, *_key(i))
    return {"calls": int(calls)}


def icount_sdk(endpoint: str, calls: str, long_conn: str = "0") -> dict[str, Any]:
    from obs import ObsClient

    client = ObsClient(access_key_id=AK, secret_access_key=SK, server=endpoint,
                       long_conn_mode=long_conn == "1")
    for i in range(20 + int(calls)):
        client.abortMultipartUpload(BUCKET, *_key(i))
    return {"calls": int(calls)}


# -- the stand-in's own latency ----------------------------------------------------------

def latency_ours(endpoint: str, calls: str) -> dict[str, Any]:
    """Sequential calls of each kind behind the stand-in's delay: median wall ms each. A
    reply with a body must take no longer than one without (no delayed-ACK stall)."""
    import statistics

    from handler.obs import ObsClient

    client = ObsClient(AK, SK, endpoint)
    count = int(calls)

    def median_ms(call: Any) -> float:
        times = []
        for i in range(count):
            started = time.perf_counter()
            call(i)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    return {
        "list_parts": median_ms(lambda i: client.listParts(BUCKET, *_key(i))),
        "abort": median_ms(lambda i: client.abortMultipartUpload(BUCKET, *_key(i))),
        "list_parts_404": median_ms(lambda i: client.listParts(BUCKET, *_key(i))),
        "list_page": median_ms(lambda i: client.listMultipartUploads(BUCKET, max_uploads=100)),
    }


# -- sweep throughput -------------------------------------------------------------------

def sweep_ours(endpoint: str, concurrency: str = "default",
               overrides: str = "{}") -> dict[str, Any]:
    """A timer sweep with the engine's defaults, except ``concurrency`` (unless "default")
    and the JSON ``overrides``."""
    from handler.index import handler

    settings: dict[str, Any] = {"buckets": [BUCKET], "min_age": "24h", **json.loads(overrides)}
    if concurrency != "default":
        settings["concurrency"] = int(concurrency)
    event = {"trigger_type": "TIMER", "user_event": json.dumps(settings)}
    context = _Context(endpoint)
    context.data["UPLOAD_ID_FORMAT"] = "relaxed"
    pools = _record_pool_sizes()
    cpu = time.process_time()
    started = time.perf_counter()
    report = handler(event, context)
    seconds = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    aborted = report["summary"]["aborted"]
    return {"aborted": aborted, "seconds": seconds, "per_second": aborted / seconds,
            "cpu_s": cpu_s, "failed": report["summary"]["failed"],
            "concurrency": max(pools, default=None), "errors": report.get("errors", [])[:3]}


def _record_pool_sizes() -> list[int]:
    """The ``max_workers`` of every thread pool made from now on: with no concurrency
    given, the sweep's own pool tells the benchmark what the default is, wherever the
    engine keeps it."""
    from concurrent.futures import ThreadPoolExecutor

    sizes: list[int] = []
    original = ThreadPoolExecutor.__init__

    def recording(self: ThreadPoolExecutor, max_workers: int | None = None,
                  *args: Any, **kwargs: Any) -> None:
        if max_workers is not None:
            sizes.append(max_workers)
        original(self, max_workers, *args, **kwargs)

    ThreadPoolExecutor.__init__ = recording  # type: ignore[method-assign]
    return sizes


def sweep_sdk(endpoint: str, threads: str) -> dict[str, Any]:
    """What a script on the SDK does (obsutil abort -j N): list every page, abort each."""
    from concurrent.futures import ThreadPoolExecutor

    from obs import ListMultipartUploadsRequest, ObsClient

    client = ObsClient(access_key_id=AK, secret_access_key=SK, server=endpoint)
    cpu = time.process_time()
    started = time.perf_counter()
    uploads: list[tuple[str, str]] = []
    marker, id_marker = None, None
    while True:
        page = client.listMultipartUploads(BUCKET, ListMultipartUploadsRequest(
            max_uploads=1000, key_marker=marker, upload_id_marker=id_marker)).body
        uploads += [(u.key, u.uploadId) for u in page.upload]
        if not page.isTruncated:
            break
        marker, id_marker = page.nextKeyMarker, page.nextUploadIdMarker

    def abort(item: tuple[str, str]) -> int:
        return int(client.abortMultipartUpload(BUCKET, *item).status)

    if int(threads) <= 1:
        statuses = [abort(item) for item in uploads]
    else:
        with ThreadPoolExecutor(max_workers=int(threads)) as pool:
            statuses = list(pool.map(abort, uploads))
    seconds = time.perf_counter() - started
    aborted = sum(1 for s in statuses if s == 204)
    return {"aborted": aborted, "seconds": seconds, "per_second": aborted / seconds,
            "cpu_s": time.process_time() - cpu}


def sweep_boto3(endpoint: str) -> dict[str, Any]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=AK, aws_secret_access_key=SK)
    cpu = time.process_time()
    started = time.perf_counter()
    aborted = 0
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(
                Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
            aborted += 1
    seconds = time.perf_counter() - started
    return {"aborted": aborted, "seconds": seconds, "per_second": aborted / seconds,
            "cpu_s": time.process_time() - cpu}


# -- memory -----------------------------------------------------------------------------

def memory_dry_run(endpoint: str) -> dict[str, Any]:
    from handler.index import handler

    settings = {"buckets": [BUCKET], "min_age": "24h", "dry_run": True, "check_activity": False}
    context = _Context(endpoint)
    context.data["UPLOAD_ID_FORMAT"] = "relaxed"
    report = handler({"trigger_type": "TIMER", "user_event": json.dumps(settings)}, context)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seen": report["summary"]["seen"], "would_abort": report["summary"]["would_abort"],
            "peak_rss_mb": peak_kib / 1024, "reply_bytes": len(json.dumps(report))}


# Every workload bench/run.py can start in a fresh process, by the name it passes.
WORKLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "cold-ours": cold_ours, "cold-sdk": cold_sdk, "cold-boto3": cold_boto3,
    "cpu-ours": cpu_ours, "cpu-sdk": cpu_sdk, "cpu-boto3": cpu_boto3,
    "icount-ours": icount_ours, "icount-sdk": icount_sdk, "latency-ours": latency_ours,
    "sweep-ours": sweep_ours, "sweep-sdk": sweep_sdk, "sweep-boto3": sweep_boto3,
    "memory-dry-run": memory_dry_run,
}


if __name__ == "__main__":
    name, *arguments = sys.argv[1:]
    print(json.dumps(WORKLOADS[name](*arguments)))
