"""Regressions found by the unit tables: each was a defect, each test failed before its fix."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from handler.obs.model import GetResult
from handler.settings import ConfigError, load_settings
from handler.sweep.clock import server_time
from tests.conftest import ANY_BUCKET_URL, ENDPOINT, FakeContext, invoke, timer

if TYPE_CHECKING:
    import responses

BASE = {"OBS_ENDPOINT": ENDPOINT}
PASTED = "tok-4f9a2c81d7"  # a token pasted into the wrong variable or field


def test_a_date_beyond_datetime_max_in_utc_is_no_clock() -> None:
    assert server_time(GetResult(status=200, header=[("Date", "Fri, 31 Dec 9999 23:59:59 -1400")])) is None


LISTING = ("<ListMultipartUploadsResult><Bucket>examplebucket</Bucket><IsTruncated>false</IsTruncated>"
           "<Upload><Key>k</Key><UploadId>{id}</UploadId><Initiated>{initiated}</Initiated></Upload>"
           "</ListMultipartUploadsResult>")


@pytest.mark.parametrize(("initiated", "date"), [
    pytest.param("0001-01-01T00:00:00+14:00", "Fri, 27 Nov 2026 00:00:00 GMT", id="Initiated"),
    pytest.param("2026-11-01T00:00:00Z", "Fri, 31 Dec 9999 23:59:59 -1400", id="Date"),
])
def test_a_listing_at_the_edge_of_datetime_aborts_nothing_and_does_not_crash(
        lenient_obs: responses.RequestsMock, initiated: str, date: str) -> None:
    body = LISTING.format(id="0" * 32, initiated=initiated)
    lenient_obs.add("GET", ANY_BUCKET_URL, status=200, body=body, headers={"Date": date})
    context = FakeContext(user_data={**BASE, "ALLOWED_BUCKETS": "examplebucket"})
    reply = invoke(timer(buckets=["examplebucket"]), context)
    assert reply.get("errorCode") != "InternalError", reply
    assert reply["summary"]["aborted"] == 0
    assert not [c for c in lenient_obs.calls if c.request.method == "DELETE"]


@pytest.mark.parametrize("name", ["SWEEP_MAX_CLOCK_SKEW", "SWEEP_MIN_AGE_FLOOR", "OBJECT_EVENT_GRACE"])
def test_a_bad_duration_setting_is_named_not_quoted(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, name: PASTED}.get)
    assert str(caught.value).startswith(name) and PASTED not in str(caught.value)


@pytest.mark.parametrize("where", ["event", "SWEEP_MIN_AGE"])
def test_a_bad_min_age_is_named_not_quoted(obs: responses.RequestsMock, where: str) -> None:
    user_data = {**BASE, "ALLOWED_BUCKETS": "examplebucket"}
    settings: dict[str, str | list[str]] = {"buckets": ["examplebucket"]}
    if where == "event":
        settings["min_age"] = PASTED
    else:
        user_data["SWEEP_MIN_AGE"] = PASTED
    reply = invoke(timer(**settings), FakeContext(user_data=user_data))
    assert reply["errorCode"] in ("InvalidEvent", "ConfigError") and "min_age" in reply["errorMessage"]
    assert PASTED not in json.dumps(reply)


@pytest.mark.parametrize(("name", "value"), [
    ("FUNCTIONGRAPH_ENDPOINT", "functiongraph.cn-north-4.myhuaweicloud.com"),
    ("FUNCTIONGRAPH_ENDPOINT", "ftp://functiongraph.example.com"),
    ("FANOUT_REGION", "evil.example.com/x#"),
])
def test_fanout_endpoint_settings_are_checked(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}"):
        load_settings({**BASE, name: value}.get)
