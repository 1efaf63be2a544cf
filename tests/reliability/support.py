"""Helpers shared by the reliability tests: clients and contexts with planted secrets."""

from __future__ import annotations

import time
from typing import Any

from handler.obs import ObsClient
from tests.conftest import _SEEN, SECRET_SENTINEL, TOKEN_SENTINEL, FakeContext


def client(endpoint: str, **options: Any) -> ObsClient:
    """Our client with sentinel secrets; backoff sleeps shortened tenfold."""
    options.setdefault("sleep", lambda seconds: time.sleep(seconds / 10))
    made = ObsClient("AK-REL", SECRET_SENTINEL, endpoint, security_token=TOKEN_SENTINEL, **options)
    _SEEN.append(repr(made))
    return made


def context(endpoint: str, bucket: str, **user_data: str) -> FakeContext:
    return FakeContext(user_data={"OBS_ENDPOINT": endpoint, "ALLOWED_BUCKETS": bucket,
                                  "UPLOAD_ID_FORMAT": "relaxed", **user_data},
                       remaining_ms=120_000)


def keep(*texts: object) -> None:
    """Hand exception messages and reprs to the session's secret check."""
    _SEEN.extend(str(text) for text in texts)
