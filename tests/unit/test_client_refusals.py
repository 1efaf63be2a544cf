"""No request without a key and an uploadId: the client answers a janitor-made
400 and sends nothing, for every call whose target would otherwise be the bucket itself."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
import responses

from handler.obs import REFUSED_ERROR_CODE, ObsClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from handler.obs import GetResult

ENDPOINTS = ["https://obs.cn-north-4.myhuaweicloud.com", "http://127.0.0.1:9000"]
BLANK: list[Any] = ["", None]
BLANK_UPLOAD_IDS: list[Any] = [*BLANK, " ", "\t"]
CALLS: dict[str, Callable[[ObsClient, Any, Any], GetResult]] = {
    "abortMultipartUpload": lambda c, k, u: c.abortMultipartUpload("examplebucket", k, u),
    "listParts": lambda c, k, u: c.listParts("examplebucket", k, u),
}
CASES = [
    pytest.param(call, key, upload_id, missing, id=f"{call}-{missing}-{key!r}-{upload_id!r}")
    for call in CALLS
    for key, upload_id, missing in (
        [(k, "U1", "objectKey") for k in BLANK]
        + [("k", u, "uploadId") for u in BLANK_UPLOAD_IDS]
        + [(k, u, "objectKey") for k in BLANK for u in BLANK]
    )
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("call", "key", "upload_id", "missing"), CASES)
def test_refused_and_nothing_sent(
    endpoint: str, call: str, key: Any, upload_id: Any, missing: str
) -> None:
    client = ObsClient("AK", "SK", endpoint)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.DELETE, re.compile(r".*"), status=204)
        rsps.add(responses.GET, re.compile(r".*"), status=200)
        result = CALLS[call](client, key, upload_id)
        assert len(rsps.calls) == 0
    assert result.status == 400 and result.reason == "Bad Request"
    assert result.errorCode == REFUSED_ERROR_CODE
    assert result.requestId is None  # janitor-made, as the handler's local results
    assert result.errorMessage is not None
    assert call in result.errorMessage and missing in result.errorMessage
    assert "no request was sent" in result.errorMessage
    assert not result.ok


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("method", "query"),
    [("DELETE", [("uploadId", "U1")]), ("DELETE", []), ("PUT", []), ("DELETE", [("x", "1")])],
)
@pytest.mark.parametrize("key", ["", None])
def test_no_delete_or_put_of_the_bucket_itself(
    endpoint: str, method: str, query: list[tuple[str, str]], key: str | None
) -> None:
    client = ObsClient("AK", "SK", endpoint)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(method, re.compile(r".*"), status=204)
        result = client.request(method, "examplebucket", key, query)
        assert len(rsps.calls) == 0
    assert result.status == 400 and result.errorCode == REFUSED_ERROR_CODE


@pytest.mark.parametrize("key", ["", None])
def test_put_content_without_key_is_refused(key: Any) -> None:
    client = ObsClient("AK", "SK", ENDPOINTS[0])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.PUT, re.compile(r".*"), status=200)
        result = client.putContent("examplebucket", key, "body")
        assert len(rsps.calls) == 0
    assert result.errorCode == REFUSED_ERROR_CODE and "objectKey" in str(result.errorMessage)


@pytest.mark.parametrize(
    ("call", "url"),
    [
        (lambda c: c.request("DELETE", "examplebucket", None, [("lifecycle", None)]),
         "https://examplebucket.obs.cn-north-4.myhuaweicloud.com/?lifecycle"),
        (lambda c: c.abortMultipartUpload("examplebucket", " ", "U1"),
         "https://examplebucket.obs.cn-north-4.myhuaweicloud.com/%20?uploadId=U1"),
        (lambda c: c.listParts("examplebucket", "0", "U1"),
         "https://examplebucket.obs.cn-north-4.myhuaweicloud.com/0?uploadId=U1"),
    ],
    ids=["sub-resource-delete", "space-key", "key-0"],
)
def test_calls_that_name_their_target_are_sent(call: Callable[[ObsClient], Any], url: str) -> None:
    """The guard is about a missing target, not a strict key policy: a key of one space
    or "0" is an object, and a DELETE of a sub-resource names it."""
    client = ObsClient("AK", "SK", ENDPOINTS[0])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.DELETE, re.compile(r".*"), status=204)
        rsps.add(responses.GET, re.compile(r".*"), status=200)
        call(client)
        assert [c.request.url for c in rsps.calls] == [url]
