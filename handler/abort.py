"""The abandonment route: validate each upload on its own, then abort it.

Every item gets its own entry, whatever happens to the others (Powertools' batch rule):
an invalid item is rejected without a request, and even a bug while handling one item
fails that item only.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from handler.events.abandonment import AbandonedUpload, fingerprint, identify, parse_upload
from handler.events.classify import Unusable
from handler.events.errors import InvalidEvent
from handler.obs.errors import ObsTransportError
from handler.result import (
    BatchEntry,
    GetResultDict,
    Outcome,
    batch_report,
    bucket_not_allowed,
    deadline_exceeded,
    internal_error,
    invalid_event,
    missing_credentials,
    outcome_of,
    transport_error,
)

if TYPE_CHECKING:
    from handler.events.classify import Abandonment
    from handler.obs.model import GetResult
    from handler.result import Reply
    from handler.runtime import Invocation


def screen(invocation: Invocation, raw: Any) -> tuple[AbandonedUpload | None, GetResult | None]:
    """Validate, then check the allow-list; a GetResult here means: send nothing."""
    if isinstance(raw, Unusable):
        return None, invalid_event(raw.problem)
    try:
        upload = parse_upload(raw, relaxed_upload_id=invocation.settings.relaxed_upload_id)
    except InvalidEvent as exc:
        return None, invalid_event(str(exc))
    if not invocation.settings.bucket_allowed(upload.bucket):
        return upload, bucket_not_allowed(upload.bucket)
    return upload, None


def abort_upload(invocation: Invocation, upload: AbandonedUpload) -> GetResult:
    """One AbortMultipartUpload, bounded by the invocation's deadline."""
    if invocation.budget.expired():
        return deadline_exceeded()
    client = invocation.client()
    if client is None:
        return missing_credentials()
    try:
        return client.abortMultipartUpload(
            upload.bucket, upload.objectKey, upload.uploadId, upload.extensionHeaders,
            deadline=invocation.budget.deadline,
        )
    except ObsTransportError as exc:
        return transport_error(str(exc))


def process_item(invocation: Invocation, raw: Any) -> BatchEntry:
    """Screen and abort one item; return its report entry and log the decision."""
    started = time.monotonic()
    upload, result = screen(invocation, raw)
    outcome: Outcome = "rejected"
    if result is None:
        assert upload is not None
        try:
            result = abort_upload(invocation, upload)
            outcome = outcome_of(result)
        except Exception as exc:  # a bug on one item must not sink the batch
            result, outcome = internal_error(exc), "failed"
    relaxed = invocation.settings.relaxed_upload_id
    if upload is not None:
        ids: dict[str, str | None] = {"bucket": upload.bucket, "objectKey": upload.objectKey,
                                      "uploadId": upload.uploadId}
        logged: dict[str, Any] = dict(ids)
    else:
        # What the caller sent is given back in the reply, but never written raw to the
        # log: an invalid item may be anything pasted into the wrong field.
        ids = identify(raw, relaxed_upload_id=relaxed)
        logged = {"item_fingerprint": fingerprint(raw)}
    invocation.log.decision(
        "abort", **logged, outcome=outcome, status=result.status, errorCode=result.errorCode,
        requestId=result.requestId, duration_ms=round((time.monotonic() - started) * 1000, 1),
    )
    reply: GetResultDict = result.to_dict()  # type: ignore[assignment]
    return {"bucket": ids["bucket"], "objectKey": ids["objectKey"], "uploadId": ids["uploadId"],
            "outcome": outcome, "result": reply}


def process_items(invocation: Invocation, items: list[Any]) -> list[BatchEntry]:
    """Process a batch concurrently; entries come back in input order."""
    workers = min(invocation.settings.batch_concurrency, len(items))
    if workers <= 1:
        return [process_item(invocation, item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # only batches pay for the import

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: process_item(invocation, item), items))


def handle_abandonment(invocation: Invocation, event: Abandonment) -> tuple[Reply, int]:
    """The route: one GetResult for a single upload, else a batch report."""
    if event.single:
        entry = process_item(invocation, event.items[0])
        return dict(entry["result"]), entry["result"]["status"] or 500
    return dict(batch_report(process_items(invocation, event.items))), 200
