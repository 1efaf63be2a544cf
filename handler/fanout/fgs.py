"""Asynchronous invocation of this very function through FunctionGraph's API.

``POST /v2/{project_id}/fgs/functions/{function_urn}/invocations-async`` with the agency's
IAM token (``context.getToken()``) as ``X-Auth-Token``; 202 and a request id on success
(docs/functiongraph.md, "Asynchronous invocation"). Written on ``requests`` like the OBS
client; the token is never logged or returned.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from handler.obs.transport import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_ASYNC_BODY = 256 * 1024  # FunctionGraph's limit on asynchronous request bodies
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# 429 with FSS.0429 means the function is disabled, not throttled: retrying cannot help
# (throttled asynchronous events are retried by the platform itself).
_FINAL_ERROR_CODES = frozenset({"FSS.0429"})


class DispatchError(Exception):
    """An asynchronous invocation could not be handed to FunctionGraph."""


@dataclass(frozen=True)
class Target:
    """Where to send: endpoint, project and the function's URN (from configuration)."""

    endpoint: str
    project_id: str
    function_urn: str

    @property
    def url(self) -> str:
        return (f"{self.endpoint}/v2/{quote(self.project_id, safe='')}/fgs/functions/"
                f"{quote(self.function_urn, safe=':')}/invocations-async")


class AsyncInvoker:
    def __init__(
        self, target: Target, token: Callable[[], str | None], *,
        session: requests.Session | None = None, retry: RetryPolicy | None = None,
        timeout: float = 10.0, sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.target = target
        self.token = token
        self.session = session or requests.Session()
        self.session.trust_env = False
        self.retry = retry or RetryPolicy(max_retry_count=4, base_delay=0.2)
        self.timeout = timeout
        self.sleep = sleep or (lambda seconds: time.sleep(seconds))
        self.rng = random.Random()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> AsyncInvoker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def invoke(self, event: dict[str, Any], *, deadline: float | None = None) -> str:
        """Queue ``event`` for an asynchronous run; return FunctionGraph's request id.

        Retries network errors, 429 and 5xx with backoff (never past ``deadline``). A
        retried dispatch may queue the event twice; the receiver deduplicates.
        """
        body = json.dumps(event, separators=(",", ":")).encode()
        if len(body) > MAX_ASYNC_BODY:
            raise DispatchError(f"event of {len(body)} bytes exceeds the 256 KB async limit")
        token = self.token()
        if not token:
            raise DispatchError("no IAM token in the context (is an agency set?)")
        headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
        problem = ""
        for attempt in range(1, self.retry.max_retry_count + 2):
            try:
                response = self.session.post(self.target.url, data=body, headers=headers,
                                             timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                problem = type(exc).__name__
            else:
                if response.status_code in (200, 202):
                    return _request_id(response)
                code = _error_code(response)
                problem = f"status {response.status_code} {code}"
                if response.status_code not in _RETRY_STATUSES or code in _FINAL_ERROR_CODES:
                    break
            delay = self.retry.delay(attempt, self.rng)
            if attempt > self.retry.max_retry_count or (
                    deadline is not None and time.monotonic() + delay >= deadline):
                break
            self.sleep(delay)
        raise DispatchError(f"asynchronous invocation failed: {problem}")


def _request_id(response: requests.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return ""
    # v1 and v2 of the API spell it differently.
    return str(document.get("request_id") or document.get("requestId") or "")


def _error_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("error_code", ""))
    except (ValueError, AttributeError):
        return ""
