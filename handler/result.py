"""What the handler returns: GetResult dicts for single calls, reports for batches.

Every reply is a JSON-ready dict; errors the janitor detects itself (bad input, a bucket
outside the allow-list, no response from OBS) are GetResult-shaped too, so a caller reads
one format whatever happened.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal

from handler.obs.model import GetResult

Outcome = Literal["aborted", "already_gone", "rejected", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("aborted", "already_gone", "rejected", "failed")

# A janitor-made result when no HTTP response exists. 503 because the service could not
# be reached, and errorCode TransportError (with requestId None) tells it apart from a
# real OBS 503 (README, "Results").
TRANSPORT_STATUS = 503


def local_result(status: int, reason: str, code: str, message: str) -> GetResult:
    """A GetResult for an outcome decided without (or without an answer from) OBS."""
    return GetResult(status=status, reason=reason, errorCode=code, errorMessage=message)


def invalid_event(message: str) -> GetResult:
    return local_result(400, "Bad Request", "InvalidEvent", message)


def bucket_not_allowed(bucket: str) -> GetResult:
    return local_result(
        403, "Forbidden", "BucketNotAllowed",
        f"bucket {bucket!r} is not in ALLOWED_BUCKETS; no request was sent",
    )


def config_error(message: str) -> GetResult:
    return local_result(500, "Internal Server Error", "ConfigError", message)


def missing_credentials() -> GetResult:
    return local_result(
        500, "Internal Server Error", "MissingCredentials",
        "no agency credentials in the context and no OBS_ACCESS_KEY_ID/OBS_SECRET_ACCESS_KEY; "
        "no request was sent",
    )


def transport_error(message: str) -> GetResult:
    return local_result(TRANSPORT_STATUS, "Service Unavailable", "TransportError", message)


def deadline_exceeded() -> GetResult:
    return local_result(
        TRANSPORT_STATUS, "Service Unavailable", "DeadlineExceeded",
        "not attempted: the invocation's time budget ran out; send this upload again",
    )


def internal_error(exc: BaseException) -> GetResult:
    # Only the exception's type: its text might quote data we must not echo.
    return local_result(
        500, "Internal Server Error", "InternalError",
        f"unexpected {type(exc).__name__}; see the function's log",
    )


def outcome_of(result: GetResult) -> Outcome:
    """aborted (2xx), already_gone (404 NoSuchUpload: the goal state), else failed."""
    if result.ok:
        return "aborted"
    if result.status == 404 and result.errorCode == "NoSuchUpload":
        return "already_gone"
    return "failed"


def batch_report(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"results": [...], "summary": {outcome: count}}`` with results in input order."""
    counts = Counter(entry["outcome"] for entry in entries)
    summary = {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}
    return {"results": entries, "summary": summary}


def apig_reply(payload: dict[str, Any], status: int) -> dict[str, Any]:
    """APIG's required reply shape (reference §2.5). 204 becomes 200 so the body survives."""
    return {
        "statusCode": 200 if status == 204 else status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, ensure_ascii=False),
        "isBase64Encoded": False,
    }
