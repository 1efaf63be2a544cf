"""What the handler returns: the reply shapes, the outcome vocabulary, janitor-made results.

Every reply is a JSON-ready dict of one of the ``TypedDict`` shapes below (README,
"Results"); errors the janitor detects itself (bad input, a bucket outside the
allow-list, no response from OBS) are GetResult-shaped too, so a caller reads one format
whatever happened. ``Refusal`` carries such a result from wherever a route decides to
send nothing; the entry point catches it once.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal, TypedDict

from handler.obs.model import GetResult

# One vocabulary for what happened to an upload, in replies, counters and log lines.
Outcome = Literal[
    "aborted",            # the abort was answered 2xx (and, when verified, the upload is gone)
    "would_abort",        # a dry run's "aborted"
    "already_gone",       # OBS answered that the upload does not exist: the goal state
    "rejected",           # refused before any request (invalid item, bucket not allowed)
    "failed",             # tried, and the upload may still be there
    "skipped_young",      # kept: not older than min_age (or its age is unknown)
    "skipped_active",     # kept: a part arrived within min_age
    "skipped_excluded",   # kept: under an excluded prefix
    "skipped_initiator",  # kept: started by another initiator
    "skipped_outside",    # kept: the server listed it outside the requested prefix
    "skipped_clock",      # kept: OBS's clock and ours disagree beyond the bound
]
BATCH_OUTCOMES: tuple[Outcome, ...] = ("aborted", "already_gone", "rejected", "failed")

# A janitor-made result when no HTTP response exists. 503 because the service could not
# be reached, and errorCode TransportError (with requestId None) tells it apart from a
# real OBS 503 (README, "Results").
TRANSPORT_STATUS = 503
# FunctionGraph's limit on a synchronous reply (docs/functiongraph.md, "Limits"); kept
# with room for the runtime's own wrapping.
MAX_REPLY_BYTES = 6 * 1000 * 1000 - 64 * 1024


class GetResultDict(TypedDict):
    status: int | None
    reason: str | None
    errorCode: str | None
    errorMessage: str | None
    requestId: str | None
    indicator: str | None
    hostId: str | None
    resource: str | None
    header: list[list[str]] | list[tuple[str, str]] | None
    body: Any


class BatchEntry(TypedDict):
    bucket: str | None
    objectKey: str | None
    uploadId: str | None
    outcome: Outcome
    result: GetResultDict


class BatchReply(TypedDict, total=False):
    results: list[BatchEntry]
    summary: dict[str, int]
    trimmed: dict[str, int]


class ApigReply(TypedDict):
    statusCode: int
    headers: dict[str, str]
    body: str
    isBase64Encoded: bool


Reply = dict[str, Any]  # one of the shapes above, or a sweep's (handler/sweep/report.py)


class Refusal(Exception):  # noqa: N818 - it is a reply, raised to skip the rest of a route
    """Send nothing and reply with ``result`` (a janitor-made GetResult)."""

    def __init__(self, result: GetResult) -> None:
        super().__init__(result.errorCode)
        self.result = result


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


def batch_report(entries: list[BatchEntry]) -> BatchReply:
    """``{"results": [...], "summary": {outcome: count}}`` with results in input order."""
    counts = Counter(entry["outcome"] for entry in entries)
    return {"results": entries, "summary": {o: counts.get(o, 0) for o in BATCH_OUTCOMES}}


def apig_reply(payload: Reply, status: int) -> ApigReply:
    """APIG's required reply shape. 204 becomes 200 so the body survives."""
    return {
        "statusCode": 200 if status == 204 else status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, ensure_ascii=False),
        "isBase64Encoded": False,
    }


# -- the 6 MB ceiling ------------------------------------------------------------------

def reply_size(reply: Any) -> int:
    return len(json.dumps(reply, ensure_ascii=False, default=str).encode("utf-8"))


def fit_reply(reply: Reply, limit: int = MAX_REPLY_BYTES) -> Reply:
    """A reply that fits FunctionGraph's synchronous limit, saying what it left out.

    First the raw bodies and headers of entry results go (the errorCode and message
    stay), then entries themselves, successes before failures; counts and summaries are
    never trimmed, so nothing is lost from the totals.
    """
    if reply_size(reply) <= limit:
        return reply
    list_key = next((k for k in ("results", "uploads", "records") if isinstance(
        reply.get(k), list)), None)
    if list_key is None:
        return {k: v for k, v in reply.items() if k in ("status", "errorCode", "summary")} | {
            "trimmed": {"reply_bytes": reply_size(reply)}}
    entries: list[Any] = list(reply[list_key])
    trimmed = {"bodies": 0, "entries": 0}
    slim = []
    for entry in entries:
        result = entry.get("result") if isinstance(entry, dict) else None
        if isinstance(result, dict) and (result.get("body") or result.get("header")):
            entry = {**entry, "result": {**result, "body": None, "header": None}}
            trimmed["bodies"] += 1
        slim.append(entry)
    fitted = {**reply, list_key: slim, "trimmed": trimmed}
    if reply_size(fitted) <= limit:
        return fitted
    # Failures first: they are what an operator acts on.
    order = sorted(range(len(slim)), key=lambda i: _is_failure(slim[i]), reverse=True)
    kept: list[int] = []
    budget = limit - reply_size({**fitted, list_key: []}) - 1024
    for index in order:
        size = reply_size(slim[index]) + 1
        if size > budget:
            break
        budget -= size
        kept.append(index)
    trimmed["entries"] = len(slim) - len(kept)
    return {**fitted, list_key: [slim[i] for i in sorted(kept)], "trimmed": trimmed}


def _is_failure(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("outcome") in ("failed", "rejected")
