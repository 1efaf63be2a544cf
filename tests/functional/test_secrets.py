"""Sentinel credentials planted in the context appear in no result and no log line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests
import responses

from tests.conftest import EVENTS, SENTINELS, FakeContext, invoke, load_event


@pytest.mark.parametrize("name", sorted(p.name for p in Path(EVENTS).glob("*.json")))
@pytest.mark.parametrize("failure", ["ok", "403", "network"])
def test_no_sentinel_anywhere(name: str, failure: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    context = FakeContext(user_data={"OBS_ENDPOINT": "https://obs.cn-north-4.myhuaweicloud.com",
                                     "ALLOWED_BUCKETS": "*", "OBS_MAX_RETRY_COUNT": "0"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as obs:
        import re
        body = {"ok": "", "403": "<Error><Code>SignatureDoesNotMatch</Code></Error>"}.get(failure)
        kwargs = {"body": requests.ConnectionError("reset")} if failure == "network" else {
            "status": 204 if failure == "ok" else 403, "body": body}
        for method in ("DELETE", "GET"):
            obs.add(method, re.compile(r"https://.*"), **kwargs)
        reply = invoke(load_event(name), context)
    text = json.dumps(reply) + "\n".join(context.logger.lines) + caplog.text
    for sentinel in SENTINELS:
        assert sentinel not in text
