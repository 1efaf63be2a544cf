"""Aborting the uploads named by abandonment events, each item on its own."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from handler.events import AbandonedUpload, InvalidEvent, identify, parse_upload
from handler.obs.errors import ObsTransportError
from handler.result import (
    bucket_not_allowed,
    deadline_exceeded,
    invalid_event,
    missing_credentials,
    outcome_of,
    transport_error,
)

if TYPE_CHECKING:
    from handler.invocation import Invocation
    from handler.obs.model import GetResult


def screen(invocation: Invocation, raw: Any) -> tuple[AbandonedUpload | None, GetResult | None]:
    """Validate, then check the allow-list; a GetResult here means: send nothing."""
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


def process_item(invocation: Invocation, raw: Any) -> dict[str, Any]:
    """Screen and abort one item; return its report entry and log the decision."""
    started = time.monotonic()
    upload, refusal = screen(invocation, raw)
    if refusal is not None:
        result, outcome = refusal, "rejected"
    else:
        assert upload is not None
        result = abort_upload(invocation, upload)
        outcome = outcome_of(result)
    ids = (
        {"bucket": upload.bucket, "objectKey": upload.objectKey, "uploadId": upload.uploadId}
        if upload is not None else identify(raw)
    )
    invocation.log.decision(
        "abort", **ids, outcome=outcome, status=result.status, errorCode=result.errorCode,
        requestId=result.requestId, duration_ms=round((time.monotonic() - started) * 1000, 1),
    )
    return {**ids, "outcome": outcome, "result": result}


def process_items(invocation: Invocation, items: list[Any]) -> list[dict[str, Any]]:
    """Process a batch concurrently; entries come back in input order."""
    workers = min(invocation.settings.batch_concurrency, len(items))
    if workers <= 1:
        return [process_item(invocation, item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # only batches pay for the import

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: process_item(invocation, item), items))
