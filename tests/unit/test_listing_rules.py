"""How listing replies are read, rule by rule, on bodies captured from the real servers.

tests/vectors/listing/ holds replies of Ceph RGW 16.2 (Debian bookworm) and moto 5.2
to the same uploads (captured by tests/integration/capture_vectors.py); the bodies that
echo ``<EncodingType>url`` follow the S3 API reference, which OBS's matches.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from handler.obs import ListingFailedError, ObsClient, iter_part_pages, iter_upload_pages
from handler.obs.xmlparse import parse_list_parts, parse_list_uploads

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "listing"
ENDPOINT = "http://127.0.0.1:9"  # path-style, as the tests' servers are reached
BUCKET = "vectors"
RGW_KEYS = json.loads((VECTORS / "rgw-uploads.json").read_text(encoding="utf-8"))["keys"]
CONTROL = "ctl\x1bx"


def vector(name: str) -> str:
    return (VECTORS / name).read_text(encoding="utf-8")


def query(request: object) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(getattr(request, "url", ""))).query, keep_blank_values=True)


@pytest.fixture
def client() -> ObsClient:
    return ObsClient("AK", "SK", ENDPOINT, max_retry_count=0)


def test_rgw_encodes_keys_silently_and_leaves_markers_raw() -> None:
    # The evidence for the pager's rule: asked for encoding-type=url, RGW encodes <Key>
    # (a%20b) without an <EncodingType> element, and sends NextKeyMarker raw, with the
    # control character as a reference XML 1.0 forbids.
    body = vector("rgw-uploads-url-page1.xml")
    assert "<EncodingType>" not in body and "<Key>a%20b</Key>" in body
    assert "<NextKeyMarker>ctl&#x1b;x</NextKeyMarker>" in body
    page = parse_list_uploads(body)
    assert page is not None and page.encoding_type is None
    assert [u.key for u in page.upload] == ["a%20b", "amp%26x", "ctl%1Bx"]  # taken as sent
    assert page.nextKeyMarker == CONTROL


def test_rgw_plain_listing_keeps_every_key_exactly() -> None:
    page = parse_list_uploads(vector("rgw-uploads-plain-all.xml"))
    assert page is not None
    assert sorted(u.key for u in page.upload) == sorted(RGW_KEYS)
    assert page.nextKeyMarker == max(RGW_KEYS) and page.isTruncated is False


def test_moto_ignores_encoding_type_and_sends_raw_control_characters() -> None:
    body = vector("moto-uploads-url-page1.xml")
    assert "<EncodingType>" not in body and f"<Key>{CONTROL}</Key>" in body
    page = parse_list_uploads(body)
    assert page is not None
    assert sorted(u.key for u in page.upload) == sorted(json.loads(
        (VECTORS / "moto-uploads.json").read_text(encoding="utf-8"))["keys"])


@pytest.mark.parametrize("name", ["rgw-parts-url.xml", "moto-parts-url.xml"])
def test_list_parts_with_a_control_character_key_keeps_its_page(name: str) -> None:
    page = parse_list_parts(vector(name))
    assert page is not None and page.objectKey == CONTROL
    assert [p.partNumber for p in page.parts] == [1]


def test_pager_asks_again_without_encoding_when_the_reply_does_not_echo_it(client: ObsClient) -> None:
    # RGW, page 1 then page 2: the first reply (encoded, no echo) is set aside; the same
    # page is asked without encoding-type, and so is the next one.
    pages = iter([vector("rgw-uploads-url-page1.xml"), vector("rgw-uploads-plain-page1.xml"),
                  vector("rgw-uploads-plain-all.xml")])
    with responses.RequestsMock() as mock:
        mock.add_callback("GET", f"{ENDPOINT}/{BUCKET}", callback=lambda _r: (200, {}, next(pages)))
        listed = [u.key for r in iter_upload_pages(client, BUCKET, page_size=3) for u in r.body.upload]
        asked = [query(call.request) for call in mock.calls]
    assert [q.get("encoding-type") for q in asked] == [["url"], None, None]
    assert asked[2]["key-marker"] == [CONTROL]  # the raw marker, sent back as it came
    assert listed[:3] == ["a b", "amp&x", CONTROL]
    assert "a%20b" not in listed


UNECHOED = """<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult><Bucket>vectors</Bucket><IsTruncated>{truncated}</IsTruncated>
<NextKeyMarker>{marker}</NextKeyMarker><NextUploadIdMarker>U2</NextUploadIdMarker>
<Upload><Key>plain/a.bin</Key><UploadId>U1</UploadId></Upload>
<Upload><Key>{key}</Key><UploadId>U2</UploadId></Upload>{common}
</ListMultipartUploadsResult>"""


def unechoed(key: str = "plain/b~c_d-e.bin", marker: str | None = None, common: str = "",
             truncated: bool = True) -> str:
    return UNECHOED.format(key=key, marker=key if marker is None else marker,
                           truncated=str(truncated).lower(),
                           common=f"<CommonPrefixes><Prefix>{common}</Prefix></CommonPrefixes>"
                           if common else "")


def listing_asked(client: ObsClient, bodies: list[str]) -> tuple[list[str], list[dict[str, list[str]]]]:
    replies = iter(bodies)
    with responses.RequestsMock() as mock:
        mock.add_callback("GET", f"{ENDPOINT}/{BUCKET}",
                          callback=lambda _r: (200, {}, next(replies)))
        listed = [u.key for r in iter_upload_pages(client, BUCKET, page_size=2)
                  for u in r.body.upload]
        return listed, [query(call.request) for call in mock.calls]


def test_a_page_that_reads_the_same_decoded_is_not_asked_again(client: ObsClient) -> None:
    # No echo, but no name holds "%" or "+": encoded or raw, the keys and the marker are
    # the same, so the page is used as it came; the rest of the listing is asked raw.
    listed, asked = listing_asked(client, [unechoed(), unechoed("plain/z.bin", truncated=False)])
    assert [q.get("encoding-type") for q in asked] == [["url"], None]
    assert asked[1]["key-marker"] == ["plain/b~c_d-e.bin"]
    assert listed == ["plain/a.bin", "plain/b~c_d-e.bin", "plain/a.bin", "plain/z.bin"]
    assert client.echoes_url_encoding is False


@pytest.mark.parametrize("page", [
    # The key cases keep a plain marker: only the key holds "%" or "+".
    unechoed("a%20b", marker="plain/b~c_d-e.bin"), unechoed("a+b", marker="plain/b~c_d-e.bin"),
    unechoed(marker="m%2B"), unechoed(marker="m+"),
    unechoed(common="dir%2F"), unechoed(common="dir+/"),
], ids=["key-percent", "key-plus", "marker-percent", "marker-plus", "prefix-percent",
        "prefix-plus"])
def test_a_page_with_a_name_that_decoding_would_change_is_asked_again(
        client: ObsClient, page: str) -> None:
    # The same page asked raw, then the next page, raw too.
    raw_again, last = unechoed(), unechoed("plain/z.bin", truncated=False)
    listed, asked = listing_asked(client, [page, raw_again, last])
    assert [q.get("encoding-type") for q in asked] == [["url"], None, None]
    assert "key-marker" not in asked[1] and asked[2]["key-marker"] == ["plain/b~c_d-e.bin"]
    assert listed == ["plain/a.bin", "plain/b~c_d-e.bin", "plain/a.bin", "plain/z.bin"]


ECHOED = """<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://obs.myhwclouds.com/doc/2015-06-30/">
<Bucket>vectors</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
<NextKeyMarker>{marker}</NextKeyMarker><NextUploadIdMarker>U2</NextUploadIdMarker>
<EncodingType>url</EncodingType><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>
<Upload><Key>a%20b</Key><UploadId>U1</UploadId><Initiated>2015-07-01T02:30:54.582Z</Initiated></Upload>
<Upload><Key>c%2Bd%25e%1B</Key><UploadId>U2</UploadId><Initiated>2015-07-01T02:30:54.582Z</Initiated></Upload>
</ListMultipartUploadsResult>"""


@pytest.mark.parametrize("marker", ["c%2Bd%25e%1B", "c+d%e&#x1b;"])
def test_echoed_encoding_decodes_keys_and_reads_the_marker_as_sent(marker: str) -> None:
    # S3 encodes NextKeyMarker too; a server that echoes EncodingType but leaves the
    # marker raw must not have it decoded ("+" would become a space, "%e" garbage).
    page = parse_list_uploads(ECHOED.format(marker=marker))
    assert page is not None and page.encoding_type == "url"
    assert [u.key for u in page.upload] == ["a b", "c+d%e\x1b"]
    assert page.nextKeyMarker == "c+d%e\x1b"


def test_echoed_encoding_without_evidence_decodes_the_marker() -> None:
    body = ECHOED.format(marker="z%2B1").replace("<Upload>", "<X>").replace("</Upload>", "</X>")
    page = parse_list_uploads(body)
    assert page is not None and page.upload == [] and page.nextKeyMarker == "z+1"


@pytest.mark.parametrize(("raw", "key"), [
    ("<Key>a&#x1b;b</Key>", "a\x1bb"), ("<Key>a&#27;b</Key>", "a\x1bb"),
    ("<Key>a\x01b</Key>", "a\x01b"), ("<Key>a\rb</Key>", "a\rb"), ("<Key>a&#13;b</Key>", "a\rb"),
    ("<Key>&#xE000;&#x1b;</Key>", "\ue000\x1b"), ("<Key>\ue000&#0;\ue001</Key>", "\ue000\x00\ue001"),
    ("<Key>a&amp;#x1b;</Key>", "a&#x1b;"),
])
def test_forbidden_characters_are_recovered_exactly(raw: str, key: str) -> None:
    body = (f'<?xml version="1.0"?>\r\n<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>'
            f"<Upload>{raw}<UploadId>U</UploadId></Upload></ListMultipartUploadsResult>\r\n")
    page = parse_list_uploads(body)
    assert page is not None and [u.key for u in page.upload] == [key]


def test_an_unreadable_page_names_bucket_page_marker_and_problem(client: ObsClient) -> None:
    first = ECHOED.format(marker="c%2Bd%25e%1B")  # echoes the encoding: no second ask
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{ENDPOINT}/{BUCKET}", body=first)
        mock.add(responses.GET, f"{ENDPOINT}/{BUCKET}", body="<ListMultipartUploadsResult><Upload>")
        pages = iter_upload_pages(client, BUCKET)
        assert next(pages).body.isTruncated
        with pytest.raises(ListingFailedError) as caught:
            next(pages)
    message = str(caught.value)
    assert f"bucket {BUCKET!r}" in message and "page 2" in message
    assert "after key marker 'c+d%e\\x1b'" in message and "not well-formed XML" in message
    assert "None" not in message


@pytest.mark.parametrize(("status", "body", "problem"), [
    (403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
     "status 403, AccessDenied (Access Denied)"),
    (200, "", "status 200 but the reply is unusable: an empty body"),
    (200, "<Error><Code>InternalError</Code></Error>",
     "status 200 but the reply is unusable: a <Error> document, not <ListMultipartUploadsResult>"),
])
def test_a_failed_first_page_says_what_was_wrong(client: ObsClient, status: int, body: str, problem: str) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{ENDPOINT}/{BUCKET}", status=status, body=body)
        with pytest.raises(ListingFailedError) as caught:
            list(iter_upload_pages(client, BUCKET))
    assert str(caught.value) == f"listing uploads of bucket {BUCKET!r} failed on page 1: {problem}"
    assert caught.value.result.status == status


def test_a_failed_part_listing_names_the_upload(client: ObsClient) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{ENDPOINT}/{BUCKET}/k", status=500,
                 body="<Error><Code>InternalError</Code></Error>")
        with pytest.raises(ListingFailedError) as caught:
            list(iter_part_pages(client, BUCKET, "k", "U1"))
    assert str(caught.value) == (f"listing parts of bucket {BUCKET!r} failed on page 1 "
                                 "(key 'k', upload 'U1'): status 500, InternalError")


def test_rgw_missing_upload_answers_no_such_key_which_the_pager_yields(client: ObsClient) -> None:
    # What the sweep engine receives for a vanished upload on RGW (not NoSuchUpload).
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{ENDPOINT}/{BUCKET}/k", status=404, body=vector("rgw-parts-missing.xml"))
        results = list(iter_part_pages(client, BUCKET, "k", "U1"))
    assert [(r.status, r.errorCode) for r in results] == [(404, "NoSuchKey")]
