"""The CLI's exit status: the worst thing that happened in a reply (README, "Running it
locally"), so a shell script or a cron job can tell failures from success."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tools.invoke import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK, EXIT_REFUSED, exit_status

SWEEP_OK: dict[str, Any] = {"summary": {"failed": 0}, "errors": [], "continuation": None}


@pytest.mark.parametrize(("reply", "expected"), [
    ({"status": 204, "errorCode": None}, EXIT_OK),
    ({"status": 404, "errorCode": "NoSuchUpload"}, EXIT_OK),
    ({"status": 404, "errorCode": "NoSuchBucket"}, EXIT_FAILED),
    ({"status": 503, "errorCode": "TransportError"}, EXIT_FAILED),
    ({"status": 400, "errorCode": "InvalidEvent"}, EXIT_REFUSED),
    ({"status": 500, "errorCode": "ConfigError"}, EXIT_REFUSED),
    ({"status": 403, "errorCode": "BucketNotAllowed"}, EXIT_REFUSED),
    ({"status": 500, "errorCode": "MissingCredentials"}, EXIT_REFUSED),
    (SWEEP_OK, EXIT_OK),
    ({**SWEEP_OK, "summary": {"failed": 2}}, EXIT_FAILED),
    ({**SWEEP_OK, "errors": [{"error": "listing bucket 'b' failed"}]}, EXIT_FAILED),
    ({**SWEEP_OK, "continuation": {"bucket": "b"}}, EXIT_INCOMPLETE),
    ({**SWEEP_OK, "continuation": {"bucket": "b"}, "summary": {"failed": 1}}, EXIT_FAILED),
    ({"results": [], "summary": {"aborted": 3, "failed": 0, "rejected": 0}}, EXIT_OK),
    ({"results": [], "summary": {"aborted": 3, "failed": 0, "rejected": 1}}, EXIT_REFUSED),
    ({"results": [], "summary": {"aborted": 3, "failed": 1, "rejected": 1}}, EXIT_FAILED),
    ({"records": [{**SWEEP_OK, "outcome": "cleaned"}, {"outcome": "ignored"}]}, EXIT_OK),
    ({"records": [{**SWEEP_OK, "outcome": "incomplete"}]}, EXIT_INCOMPLETE),
    ({"records": [{"outcome": "rejected"}, {**SWEEP_OK, "outcome": "cleaned"}]}, EXIT_REFUSED),
    ({"mode": "fanout", "errors": [], "undispatched": [{"fanout": {}}]}, EXIT_FAILED),
    ({"statusCode": 200, "body": json.dumps({"status": 204})}, EXIT_OK),
    ({"statusCode": 400, "body": json.dumps({"status": 400, "errorCode": "InvalidEvent"})},
     EXIT_REFUSED),
])
def test_exit_status(reply: dict[str, Any], expected: int) -> None:
    assert exit_status(reply) == expected
