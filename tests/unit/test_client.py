"""ObsClient behaviour under `responses`: retries, deadline, paging, decoding, exact paths."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from handler.obs import (
    ListingFailedError,
    ListingStuckError,
    ObsClient,
    ObsTransportError,
    iter_part_pages,
    iter_upload_pages,
)

ENDPOINT = "https://obs.cn-north-4.myhuaweicloud.com"
BUCKET_URL = "https://examplebucket.obs.cn-north-4.myhuaweicloud.com"
AUTH = matchers.header_matcher({"Authorization": re.compile(r"^OBS AK:[A-Za-z0-9+/]{27}=$")}, strict_match=False)


class FakeClock:
    """monotonic() and sleep() that advance together, so no test really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(clock: FakeClock) -> ObsClient:
    return ObsClient("AK", "SK", ENDPOINT, clock=lambda: 1_700_000_000.0,
                     sleep=clock.sleep, monotonic=clock.monotonic)


def _abort_url(key: str = "k", upload_id: str = "U1") -> str:
    return f"{BUCKET_URL}/{key}?uploadId={upload_id}"


def test_retries_5xx_then_succeeds_with_fresh_signatures(client: ObsClient, clock: FakeClock) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        for status in (503, 503, 204):
            rsps.add("DELETE", _abort_url(), status=status, match=[AUTH])
        result = client.abortMultipartUpload("examplebucket", "k", "U1")
        calls = list(rsps.calls)
    assert result.status == 204
    assert len(calls) == 3
    assert len(clock.sleeps) == 2
    # exponential with jitter: retry n sleeps within [0.1*2**n / 2, 0.1*2**n]
    assert 0.1 <= clock.sleeps[0] <= 0.2 and 0.2 <= clock.sleeps[1] <= 0.4


def test_4xx_is_never_retried(client: ObsClient, clock: FakeClock) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("DELETE", _abort_url(), status=403,
                 body="<Error><Code>AccessDenied</Code></Error>")
        result = client.abortMultipartUpload("examplebucket", "k", "U1")
        calls = list(rsps.calls)
    assert result.status == 403 and result.errorCode == "AccessDenied"
    assert len(calls) == 1 and clock.sleeps == []


def test_retries_stop_at_max_retry_count(clock: FakeClock) -> None:
    client = ObsClient("AK", "SK", ENDPOINT, max_retry_count=2, sleep=clock.sleep,
                       monotonic=clock.monotonic)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("DELETE", _abort_url(), status=500)
        result = client.abortMultipartUpload("examplebucket", "k", "U1")
        calls = list(rsps.calls)
    assert result.status == 500
    assert len(calls) == 3


def test_deadline_cuts_retries_short(client: ObsClient, clock: FakeClock) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("DELETE", _abort_url(), status=503)
        result = client.abortMultipartUpload("examplebucket", "k", "U1", deadline=clock.now + 0.25)
        calls = list(rsps.calls)
    assert result.status == 503
    # one backoff fits before the deadline, the next would not
    assert len(calls) == 2
    assert clock.now <= 1000.25


def test_transport_error_names_endpoint_not_secrets(clock: FakeClock) -> None:
    client = ObsClient("AK", "SECRET-SENTINEL", ENDPOINT, security_token="TOKEN-SENTINEL",
                       sleep=clock.sleep, monotonic=clock.monotonic)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("DELETE", _abort_url(), body=requests.ConnectionError("connection reset"))
        with pytest.raises(ObsTransportError) as caught:
            client.abortMultipartUpload("examplebucket", "k", "U1")
        calls = list(rsps.calls)
    assert len(calls) == 4
    message = str(caught.value)
    assert ENDPOINT in message and "ConnectionError" in message
    assert "SENTINEL" not in message + repr(caught.value) + repr(client)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_redirect_is_returned_not_followed(client: ObsClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("DELETE", _abort_url(), status=307,
                 headers={"Location": "https://evil.example/k?uploadId=U1"},
                 body="<Error><Code>TemporaryRedirect</Code></Error>")
        result = client.abortMultipartUpload("examplebucket", "k", "U1")
        calls = list(rsps.calls)
    assert result.status == 307 and result.errorCode == "TemporaryRedirect"
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("key", "path"),
    [("a/../b", "/a/../b"), ("./x", "/./x"), ("%2E%2E/y", "/%252E%252E/y"),
     ("ctl\x00\r\n", "/ctl%00%0D%0A"), ("a b+c", "/a%20b%2Bc")],
)
def test_keys_are_sent_literally(client: ObsClient, key: str, path: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("DELETE", re.compile(r".*"), status=204)
        client.abortMultipartUpload("examplebucket", key, "U1")
        calls = list(rsps.calls)
    assert calls[0].request.path_url == f"{path}?uploadId=U1"


def test_server_forms_pick_addressing_and_signature() -> None:
    vhost = ObsClient("AK", "SK", "obs.cn-north-4.myhuaweicloud.com")
    assert vhost.url("b", "k", [("uploadId", "U")]) == "https://b.obs.cn-north-4.myhuaweicloud.com/k?uploadId=U"
    assert vhost.signature.name == "obs"
    plain = ObsClient("AK", "SK", "http://obs.local.test:9000")
    assert plain.url("b", "k", []) == "http://b.obs.local.test:9000/k"
    for server in ("http://127.0.0.1:9000", "http://localhost:9000"):
        local = ObsClient("AK", "SK", server)
        assert local.path_style and local.signature.name == "v2"
        assert local.url("b", "k", []) == server + "/b/k"
    forced = ObsClient("AK", "SK", "127.0.0.1:9000", signature="obs")
    assert forced.signature.name == "obs" and forced.scheme == "https"
    assert ObsClient("AK", "SK", ENDPOINT, path_style=True).signature.name == "v2"


def _page(uploads: list[tuple[str, str]], *, truncated: bool, next_key: str = "",
          next_id: str = "") -> str:
    items = "".join(
        f"<Upload><Key>{k}</Key><UploadId>{u}</UploadId><Initiator><ID>init</ID></Initiator>"
        f"<Owner><ID>own</ID></Owner><StorageClass>STANDARD</StorageClass>"
        f"<Initiated>2024-01-02T03:04:05.678Z</Initiated></Upload>"
        for k, u in uploads
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult '
        'xmlns="http://obs.cn-north-4.myhuaweicloud.com/doc/2015-06-30/"><Bucket>examplebucket</Bucket>'
        f"<EncodingType>url</EncodingType><NextKeyMarker>{next_key}</NextKeyMarker>"
        f"<NextUploadIdMarker>{next_id}</NextUploadIdMarker><MaxUploads>1000</MaxUploads>"
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{items}"
        "<CommonPrefixes><Prefix>dir%2Fsub+x%2F</Prefix></CommonPrefixes>"
        "</ListMultipartUploadsResult>"
    )


def _list_match(**params: str) -> list[matchers.RequestMatcher]:  # type: ignore[name-defined]
    query = {"uploads": "", "encoding-type": "url", "max-uploads": "1000", **params}
    return [matchers.query_param_matcher(query), AUTH]


def test_pager_walks_three_pages_with_markers(client: ObsClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.add("GET", f"{BUCKET_URL}/", body=_page([("a%20b", "U1")], truncated=True,
                 next_key="a%20b", next_id="U1"), match=_list_match())
        rsps.add("GET", f"{BUCKET_URL}/", body=_page([("c%2Bd", "U2")], truncated=True,
                 next_key="c%2Bd", next_id="U2"),
                 match=_list_match(**{"key-marker": "a b", "upload-id-marker": "U1"}))
        rsps.add("GET", f"{BUCKET_URL}/", body=_page([("e", "U3")], truncated=False),
                 match=_list_match(**{"key-marker": "c+d", "upload-id-marker": "U2"}))
        pages = list(iter_upload_pages(client, "examplebucket"))
        list(rsps.calls)
    keys = [u.key for page in pages for u in page.body.upload]
    assert keys == ["a b", "c+d", "e"]
    first = pages[0].body.upload[0]
    assert first.initiated == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert first.initiator.id == "init" and first.owner.owner_id == "own"
    assert pages[0].body.commonPrefixs[0].prefix == "dir/sub x/"


def test_pager_raises_on_a_stuck_marker(client: ObsClient) -> None:
    stuck = _page([("a", "U1")], truncated=True, next_key="a", next_id="U1")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.add("GET", f"{BUCKET_URL}/", body=stuck)
        rsps.add("GET", f"{BUCKET_URL}/", body=stuck)
        pages = iter_upload_pages(client, "examplebucket")
        next(pages)
        with pytest.raises(ListingStuckError, match="did not advance"):
            next(pages)
        calls = list(rsps.calls)
    assert len(calls) == 2


def test_pager_raises_when_truncated_without_markers(client: ObsClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("GET", f"{BUCKET_URL}/", body=_page([], truncated=True))
        with pytest.raises(ListingStuckError):
            list(iter_upload_pages(client, "examplebucket"))
        list(rsps.calls)


def test_pager_reports_an_error_page(client: ObsClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("GET", f"{BUCKET_URL}/", status=404, body="<Error><Code>NoSuchBucket</Code></Error>")
        with pytest.raises(ListingFailedError) as caught:
            list(iter_upload_pages(client, "examplebucket"))
        list(rsps.calls)
    assert caught.value.result.errorCode == "NoSuchBucket"


def _parts_page(numbers: list[int], *, truncated: bool, next_marker: int | None) -> str:
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><LastModified>2024-01-02T03:04:0{n % 10}.000Z</LastModified>"
        f'<ETag>"e{n}"</ETag><Size>{n * 1024}</Size></Part>'
        for n in numbers
    )
    marker = f"<NextPartNumberMarker>{next_marker}</NextPartNumberMarker>" if next_marker else ""
    return (
        f"<ListPartsResult><Bucket>examplebucket</Bucket><Key>a%20b</Key><UploadId>U1</UploadId>"
        f"<EncodingType>url</EncodingType><IsTruncated>{str(truncated).lower()}</IsTruncated>"
        f"{marker}{parts}</ListPartsResult>"
    )


def test_list_parts_pager(client: ObsClient) -> None:
    url = f"{BUCKET_URL}/a%20b"
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.add("GET", url, body=_parts_page([1, 2], truncated=True, next_marker=2), match=[
            matchers.query_param_matcher({"uploadId": "U1", "max-parts": "1000", "encoding-type": "url"})])
        rsps.add("GET", url, body=_parts_page([3], truncated=False, next_marker=None), match=[
            matchers.query_param_matcher({"uploadId": "U1", "max-parts": "1000",
                                          "part-number-marker": "2", "encoding-type": "url"})])
        pages = list(iter_part_pages(client, "examplebucket", "a b", "U1"))
        list(rsps.calls)
    parts = [p for page in pages for p in page.body.parts]
    assert [(p.partNumber, p.size, p.etag) for p in parts] == [(1, 1024, '"e1"'), (2, 2048, '"e2"'), (3, 3072, '"e3"')]
    assert parts[2].lastModified == datetime(2024, 1, 2, 3, 4, 3, tzinfo=timezone.utc)
    assert pages[0].body.objectKey == "a b"


def test_list_parts_pager_yields_no_such_upload(client: ObsClient) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add("GET", f"{BUCKET_URL}/k", status=404, body="<Error><Code>NoSuchUpload</Code></Error>")
        pages = list(iter_part_pages(client, "examplebucket", "k", "U1"))
        list(rsps.calls)
    assert [p.errorCode for p in pages] == ["NoSuchUpload"]
