"""RequestTimeTooSkewed: the client adopts the server's Date only when it is a real one."""

from __future__ import annotations

import re

import pytest
import responses

from handler.obs import ObsClient

SKEWED = "<Error><Code>RequestTimeTooSkewed</Code><Message>skewed</Message></Error>"


@pytest.mark.parametrize(
    ("date", "retried"),
    [
        ("Tue, 02 Jan 2024 03:04:05 GMT", True),
        ("Tue, 02 Jan 2024 03:04:05", False),  # no zone
        ("Tue, 02 Jan 2024 03:04:05 -0000", False),  # zone unknown
        ("Fri, 31 Dec 9999 23:59:59 GMT", False),  # absurd
        ("not a date", False),
        (None, False),
    ],
)
def test_offset_learnt_only_from_a_sound_date(date: str | None, retried: bool) -> None:
    client = ObsClient("AK", "SK", "https://obs.example.com", clock=lambda: 1_600_000_000.0)
    headers = {"Date": date} if date else {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("DELETE", re.compile(r".*"), status=403, body=SKEWED, headers=headers)
        rsps.add("DELETE", re.compile(r".*"), status=204)
        result = client.abortMultipartUpload("examplebucket", "k", "U1")
        calls = len(rsps.calls)
    assert calls == (2 if retried else 1)
    assert (result.status == 204) is retried
    assert (client.clock_offset != 0) is retried
