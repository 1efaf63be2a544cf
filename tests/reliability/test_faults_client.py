"""The client over real HTTP against the stand-in, through every transport fault."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from handler.obs import ObsTransportError
from tests.reliability.metrics import scenario
from tests.reliability.support import client, keep
from tools.standin import HANG, PROCESS_THEN_RESET, RESET_AFTER_READ, TRUNCATE, FakeObs, serve

BUCKET = "reliable"


def one_upload(state: FakeObs, key: str = "k") -> str:
    return state.add_upload(BUCKET, key, age=timedelta(days=2)).upload_id


def fail_first(n: int, answer: object, method: str = "DELETE") -> object:
    seen = count()

    def fault(m: str, bucket: str, key: str | None, query: dict[str, str]) -> object:
        return answer if m == method and next(seen) < n else None

    return fault


def error(status: int, code: str) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/xml"}, f"<Error><Code>{code}</Code></Error>"


def test_slowdown_burst_then_success() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    state.fault = fail_first(3, error(503, "SlowDown"))
    with serve(state) as server:
        result = client(server.endpoint).abortMultipartUpload(BUCKET, "k", upload_id)
    assert result.status == 204 and state.requests["DELETE"] == 4
    scenario("503 SlowDown burst of 3, then 204 on the 4th attempt", state.faults_injected)


def test_500s_exhaust_the_retry_budget() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    state.fault = fail_first(99, error(500, "InternalError"))
    with serve(state) as server:
        result = client(server.endpoint, max_retry_count=3).abortMultipartUpload(BUCKET, "k", upload_id)
    assert (result.status, result.errorCode) == (500, "InternalError")
    assert state.requests["DELETE"] == 4 and state.remaining(BUCKET)
    scenario("500 on every attempt: the last GetResult after 4 attempts", state.faults_injected)


def test_reset_before_the_request_is_read() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    resets = count()
    state.reset_connection = lambda: next(resets) < 2
    with serve(state) as server:
        result = client(server.endpoint).abortMultipartUpload(BUCKET, "k", upload_id)
    assert result.status == 204
    scenario("connection reset on accept, twice, then 204", state.faults_injected)


def test_reset_after_the_request_is_read() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    state.fault = fail_first(1, RESET_AFTER_READ)
    with serve(state) as server:
        result = client(server.endpoint).abortMultipartUpload(BUCKET, "k", upload_id)
    assert result.status == 204 and not state.remaining(BUCKET)
    scenario("connection reset after the request was read, unprocessed: retried, 204",
             state.faults_injected)


def test_reset_after_processing_reads_as_already_gone() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    state.fault = fail_first(1, PROCESS_THEN_RESET)
    with serve(state) as server:
        result = client(server.endpoint).abortMultipartUpload(BUCKET, "k", upload_id)
    # The first DELETE took effect; its answer was lost; the retry finds nothing to abort.
    assert (result.status, result.errorCode) == (404, "NoSuchUpload")
    assert state.aborts[(BUCKET, "k", upload_id)] == 2
    scenario("abort processed, answer lost to a reset: retry gives NoSuchUpload",
             state.faults_injected)


def test_a_server_that_never_answers_times_out_and_retries() -> None:
    state = FakeObs(hang_s=1.5)
    upload_id = one_upload(state)
    state.fault = fail_first(1, HANG)
    with serve(state) as server:
        result = client(server.endpoint, timeout=0.5).abortMultipartUpload(BUCKET, "k", upload_id)
    assert result.status == 204
    scenario("server accepts and never answers: read timeout, retry, 204", state.faults_injected)


def test_timeouts_past_the_deadline_raise_a_transport_error() -> None:
    import time

    state = FakeObs(hang_s=2.0)
    upload_id = one_upload(state)
    state.fault = fail_first(99, HANG)
    with serve(state) as server:
        obs = client(server.endpoint, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ObsTransportError) as caught:
            obs.abortMultipartUpload(BUCKET, "k", upload_id, deadline=time.monotonic() + 1.2)
        elapsed = time.monotonic() - started
    keep(caught.value, repr(caught.value))
    assert elapsed < 2.5 and "ReadTimeout" in str(caught.value)
    scenario("never answers, deadline 1.2 s: a typed transport error within the budget",
             state.faults_injected)


def test_truncated_body_is_retried() -> None:
    state = FakeObs()
    one_upload(state)
    state.fault = fail_first(1, TRUNCATE, method="GET")
    with serve(state) as server:
        result = client(server.endpoint).listMultipartUploads(BUCKET)
    assert result.status == 200 and len(result.body.upload) == 1
    scenario("response body cut short (Content-Length unmet): retried", state.faults_injected)


def test_invalid_error_xml_gives_a_result_not_a_crash() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    state.fault = fail_first(1, (403, {"Content-Type": "application/xml"}, "<Error><Code>Access"))
    with serve(state) as server:
        result = client(server.endpoint).abortMultipartUpload(BUCKET, "k", upload_id)
    assert result.status == 403 and result.errorCode is None and result.body is None
    scenario("invalid error XML: GetResult with the status, fields None", state.faults_injected)


def test_redirect_is_reported_not_followed() -> None:
    state = FakeObs()
    upload_id = one_upload(state)
    state.fault = fail_first(1, (307, {"Location": "http://127.0.0.2:1/k", "Content-Type": "application/xml"},
                                 "<Error><Code>TemporaryRedirect</Code></Error>"))
    with serve(state) as server:
        result = client(server.endpoint).abortMultipartUpload(BUCKET, "k", upload_id)
    assert (result.status, result.errorCode) == (307, "TemporaryRedirect")
    assert state.requests["DELETE"] == 1 and state.remaining(BUCKET)
    scenario("307 redirect: returned as a result, Location never contacted", state.faults_injected)


def test_request_time_too_skewed_corrects_the_clock_once() -> None:
    import time

    state = FakeObs(check_skew=True)
    upload_id = one_upload(state)
    with serve(state) as server:
        obs = client(server.endpoint, clock=lambda: time.time() - 3600)  # an hour slow
        result = obs.abortMultipartUpload(BUCKET, "k", upload_id)
        assert result.status == 204 and 3590 < obs.clock_offset < 3610
        second = one_upload(state, "k2")
        assert obs.abortMultipartUpload(BUCKET, "k2", second).status == 204
    assert state.requests["DELETE"] == 3  # one skewed attempt, then corrected for good
    scenario("RequestTimeTooSkewed: clock corrected from the server's Date, retried once", 1)
