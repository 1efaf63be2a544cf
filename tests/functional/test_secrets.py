"""Sentinel credentials planted in the context appear in no result and no log line."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from tests.conftest import EVENTS, SENTINELS, FakeContext, invoke, load_event

if TYPE_CHECKING:
    import responses


@pytest.mark.parametrize("name", sorted(p.name for p in Path(EVENTS).glob("*.json")))
@pytest.mark.parametrize("failure", ["ok", "403", "network"])
def test_no_sentinel_anywhere(name: str, failure: str, caplog: pytest.LogCaptureFixture,
                              lenient_obs: responses.RequestsMock) -> None:
    caplog.set_level(logging.DEBUG)
    context = FakeContext(user_data={"OBS_ENDPOINT": "https://obs.cn-north-4.myhuaweicloud.com",
                                     "ALLOWED_BUCKETS": "*", "OBS_MAX_RETRY_COUNT": "0"})
    body = {"ok": "", "403": "<Error><Code>SignatureDoesNotMatch</Code></Error>"}.get(failure)
    kwargs = {"body": requests.ConnectionError("reset")} if failure == "network" else {
        "status": 204 if failure == "ok" else 403, "body": body}
    for method in ("DELETE", "GET"):
        lenient_obs.add(method, re.compile(r"https://.*"), **kwargs)
    reply = invoke(load_event(name), context)
    text = json.dumps(reply) + "\n".join(context.logger.lines) + caplog.text
    for sentinel in SENTINELS:
        assert sentinel not in text
