"""result: the outcome of an abort, the batch report, APIG's shape and the 6 MB fit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handler.obs.model import GetResult
from handler.result import (
    BATCH_OUTCOMES,
    apig_reply,
    batch_report,
    fit_reply,
    outcome_of,
    reply_size,
    transport_error,
)

# GetResult -> outcome
OUTCOMES = {
    "204": (GetResult(status=204), "aborted"),
    "200": (GetResult(status=200), "aborted"),
    "404 NoSuchUpload is the goal state": (GetResult(status=404, errorCode="NoSuchUpload"), "already_gone"),
    "404 NoSuchKey is not": (GetResult(status=404, errorCode="NoSuchKey"), "failed"),
    "404 NoSuchBucket": (GetResult(status=404, errorCode="NoSuchBucket"), "failed"),
    "404 without a code": (GetResult(status=404), "failed"),
    "NoSuchUpload with another status": (GetResult(status=400, errorCode="NoSuchUpload"), "failed"),
    "301": (GetResult(status=301), "failed"),
    "403": (GetResult(status=403, errorCode="AccessDenied"), "failed"),
    "503": (GetResult(status=503, errorCode="ServiceUnavailable"), "failed"),
    "no response": (transport_error("no response"), "failed"),
    "no status at all": (GetResult(), "failed"),
}


@pytest.mark.parametrize(("result", "outcome"), list(OUTCOMES.values()), ids=list(OUTCOMES))
def test_outcome_of(result: GetResult, outcome: str) -> None:
    assert outcome_of(result) == outcome


def entry(n: int, outcome: str, body: Any = None, header: Any = None) -> dict[str, Any]:
    return {"bucket": "b", "objectKey": f"k/{n}", "uploadId": f"u{n}", "outcome": outcome,
            "result": {**GetResult(status=204).to_dict(), "body": body, "header": header}}


def test_batch_report_counts_every_outcome_and_keeps_input_order() -> None:
    entries = [entry(0, "failed"), entry(1, "aborted"), entry(2, "aborted"), entry(3, "rejected")]
    reply = batch_report(entries)  # type: ignore[arg-type]
    assert [e["objectKey"] for e in reply["results"]] == ["k/0", "k/1", "k/2", "k/3"]
    assert reply["summary"] == {"aborted": 2, "already_gone": 0, "rejected": 1, "failed": 1}
    assert tuple(reply["summary"]) == BATCH_OUTCOMES


def test_an_empty_batch_report_has_zero_counts() -> None:
    assert batch_report([])["summary"] == dict.fromkeys(BATCH_OUTCOMES, 0)


@pytest.mark.parametrize(("status", "reply_status"), [(204, 200), (200, 200), (400, 400), (403, 403), (500, 500), (503, 503)])
def test_apig_reply(status: int, reply_status: int) -> None:
    payload = {"status": status, "message": "é"}
    reply = apig_reply(payload, status)
    assert reply == {"statusCode": reply_status, "headers": {"Content-Type": "application/json"},
                     "body": json.dumps(payload, ensure_ascii=False), "isBase64Encoded": False}


# -- fit_reply --------------------------------------------------------------------------

def batch(n_ok: int, n_failed: int, body_size: int) -> dict[str, Any]:
    entries = [entry(i, "aborted", body="x" * body_size, header=[["h", "v"]]) for i in range(n_ok)]
    entries += [entry(n_ok + i, "failed", body="y" * body_size) for i in range(n_failed)]
    return {"results": entries, "summary": {"aborted": n_ok, "failed": n_failed}}


def test_a_reply_under_the_limit_is_untouched() -> None:
    reply = batch(3, 1, 100)
    assert fit_reply(reply, limit=reply_size(reply)) is reply


def test_bodies_go_first_and_every_entry_stays_when_that_suffices() -> None:
    reply = batch(10, 2, 2000)
    fitted = fit_reply(reply, limit=reply_size(reply) - 1)
    assert len(fitted["results"]) == 12
    assert all(e["result"]["body"] is None and e["result"]["header"] is None for e in fitted["results"])
    assert all(e["result"]["status"] == 204 for e in fitted["results"])  # the rest of the result stays
    assert fitted["trimmed"] == {"bodies": 12, "entries": 0}
    assert fitted["summary"] == reply["summary"]
    assert reply["results"][0]["result"]["body"] == "x" * 2000  # the input is not modified


def test_entries_go_next_failures_kept_first_in_input_order() -> None:
    reply = batch(200, 5, 10)
    limit = reply_size({**reply, "results": reply["results"][:20]}) + 1024
    fitted = fit_reply(reply, limit=limit)
    kept = fitted["results"]
    assert reply_size(fitted) <= limit
    assert [e["outcome"] for e in kept].count("failed") == 5
    assert 5 < len(kept) < 205
    order = [int(e["objectKey"].split("/")[1]) for e in kept]
    assert order == sorted(order)
    assert fitted["trimmed"]["entries"] == 205 - len(kept)
    assert fitted["summary"] == {"aborted": 200, "failed": 5}


@pytest.mark.parametrize("list_key", ["results", "uploads", "records"])
def test_every_listing_reply_is_trimmed_the_same_way(list_key: str) -> None:
    reply = {list_key: batch(300, 1, 10)["results"], "summary": {"seen": 301}}
    limit = reply_size(reply) // 3
    fitted = fit_reply(reply, limit=limit)
    assert reply_size(fitted) <= limit and fitted["summary"] == {"seen": 301}
    assert any(e["outcome"] == "failed" for e in fitted[list_key])


def test_a_reply_without_a_list_keeps_only_its_status_code_and_summary() -> None:
    reply = {"status": 200, "errorCode": None, "summary": {"seen": 1}, "blob": "z" * 5000}
    fitted = fit_reply(reply, limit=1000)
    assert fitted == {"status": 200, "errorCode": None, "summary": {"seen": 1},
                      "trimmed": {"reply_bytes": reply_size(reply)}}
