"""Shared fixtures: sample events from events/, a fake FunctionGraph context, OBS mocks
(strict ``obs``; ``lenient_obs`` and the ``stand_in`` bucket state wired into it).

Every result the handler returns through ``invoke`` and every log line of the session
is kept, and at the end of the session checked for the sentinel secrets below: a leak
anywhere in the suite fails the run.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import responses

from handler import runtime
from handler.index import handler
from handler.settings import VARIABLES as SETTING_NAMES

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tools.standin import FakeObs

EVENTS = Path(__file__).resolve().parent.parent / "events"
SECRET_SENTINEL = "SECRET-SENTINEL-7f3a9c"
TOKEN_SENTINEL = "TOKEN-SENTINEL-b41e2d"
IAM_TOKEN_SENTINEL = "IAMTOKEN-SENTINEL-c9d8"
SENTINELS = (SECRET_SENTINEL, TOKEN_SENTINEL, IAM_TOKEN_SENTINEL)
ENDPOINT = "https://obs.cn-north-4.myhuaweicloud.com"
# Virtual-host URLs of any bucket at ENDPOINT, for callbacks that answer every bucket.
ANY_BUCKET_URL = re.compile(r"https://[a-z0-9.-]+\.obs\.cn-north-4\.myhuaweicloud\.com/.*")

_SEEN: list[str] = []  # every result and log line of the session


class _Everything(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _SEEN.append(self.format(record))


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_Everything(level=logging.DEBUG))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = [line[:200] for line in _SEEN if any(s in line for s in SENTINELS)]
    if leaks:
        print(f"\nSECRET LEAK: {len(leaks)} result(s)/log line(s) hold a sentinel: {leaks[:3]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def load_event(name: str) -> Any:
    """A sample event from events/ — the single source of test fixtures."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)
        _SEEN.append(line)


@dataclass
class FakeContext:
    """The FunctionGraph context methods the janitor calls, with agency sentinels."""

    user_data: dict[str, str] = field(default_factory=dict)
    remaining_ms: int = 60_000
    access_key: str = "AK-AGENCY"
    secret_key: str = SECRET_SENTINEL
    token: str = TOKEN_SENTINEL
    logger: RecordingLogger = field(default_factory=RecordingLogger)

    def getRemainingTimeInMilliSeconds(self) -> int:
        return self.remaining_ms

    def getUserData(self, key: str) -> str | None:
        return self.user_data.get(key)

    def getSecurityAccessKey(self) -> str:
        return self.access_key

    def getSecuritySecretKey(self) -> str:
        return self.secret_key

    def getSecurityToken(self) -> str:
        return self.token

    def getToken(self) -> str:
        return IAM_TOKEN_SENTINEL

    def getRequestID(self) -> str:
        return "req-0001"

    def getLogger(self) -> RecordingLogger:
        return self.logger

    def decisions(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logger.lines]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's OBS settings or a client cached by another test."""
    for name in (*SETTING_NAMES, "OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY",
                 "OBS_SECURITY_TOKEN", "AccessKeyID", "SecretAccessKey", "SecurityToken"):
        monkeypatch.delenv(name, raising=False)
    from handler.fanout.chain import forget_deliveries

    runtime.drop_cached_client()
    forget_deliveries()
    yield
    runtime.drop_cached_client()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": "examplebucket"})


@pytest.fixture
def obs() -> Iterator[responses.RequestsMock]:
    """Mocked OBS: unregistered requests fail, registered ones must all be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def lenient_obs() -> Iterator[responses.RequestsMock]:
    """Mocked OBS whose registered requests need not all be used (sweeps and dry runs,
    whose request count follows the data); an unregistered request still fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def wire(mock: responses.RequestsMock, state: FakeObs) -> None:
    """Let the in-memory stand-in answer every GET and DELETE of any bucket at ENDPOINT."""
    for method in ("GET", "DELETE"):
        mock.add_callback(method, ANY_BUCKET_URL, callback=state.responses_callback(method))


@pytest.fixture
def stand_in(lenient_obs: responses.RequestsMock) -> FakeObs:
    """An empty in-memory OBS (tools/standin.py) answering through ``lenient_obs``."""
    from tools.standin import FakeObs

    state = FakeObs()
    wire(lenient_obs, state)
    return state


def timer(**settings: Any) -> dict[str, Any]:
    """The sample TIMER event with ``settings`` as its user_event."""
    event = load_event("timer.json")
    event["user_event"] = json.dumps(settings)
    return event


def invoke(event: Any, context: Any) -> Any:
    """Call the real entry point and keep its result for the session's leak check."""
    result = handler(event, context)
    _SEEN.append(json.dumps(result, ensure_ascii=False, default=str))
    return result


def budget_clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """The clock the invocation's budget reads, held at 0 until a test moves ``["now"]``."""
    clock = {"now": 0.0}
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock["now"])
    return clock


def charge_per_request(monkeypatch: pytest.MonkeyPatch, state: FakeObs,
                       seconds: float = 1.0) -> dict[str, float]:
    """Every stand-in request costs ``seconds`` of the budget; the clock is returned so
    that a test can start the next invocation afresh (``clock["now"] = 0.0``)."""
    clock = budget_clock(monkeypatch)
    original = state.answer

    def answer(*args: Any) -> Any:
        clock["now"] += seconds
        return original(*args)

    monkeypatch.setattr(state, "answer", answer)
    return clock
