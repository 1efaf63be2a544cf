"""The boto3 witness's reading of replies that name keys with control characters
(tools/rgw.py, dev-only): each key comes back exactly, whatever form the server chose."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tools.rgw import _readable_body, witness_key


def read_keys(body: bytes, status: int = 200) -> tuple[list[str], int]:
    response = {"body": body, "status_code": status}
    _readable_body(response)
    root = ET.fromstring(response["body"])
    return [witness_key(key.text or "") for key in root.iter("Key")], int(response["status_code"])


def listing(written: bytes) -> bytes:
    return (b"<ListMultipartUploadsResult><Upload><Key>" + written + b"</Key></Upload>"
            b"</ListMultipartUploadsResult>")


@pytest.mark.parametrize(("written", "key"), [
    (b"esc&#x1b;x", "esc\x1bx"),        # RGW
    (b"esc&#27;x", "esc\x1bx"),
    (b"esc\x1bx", "esc\x1bx"),          # moto: the raw byte
    (b"soh&#x01;x", "soh\x01x"),
    (b"nul&#0;x", "nul\x00x"),
    (b"cr\rx", "cr\rx"),                # raw CR: a parser would read LF
    (b"cr&#x0d;x", "cr\rx"),
    (b"tab\tx&#9;", "tab\tx\t"),        # allowed: as written
    (b"del\x7fx", "del\x7fx"),
    (b"amp&amp;lt&lt;&#x41;", "amp&lt<A"),
])
def test_each_key_reads_back_exactly(written: bytes, key: str) -> None:
    assert read_keys(listing(written))[0] == [key]


def test_a_listing_botocore_could_not_read_is_the_200_the_server_sent() -> None:
    # botocore marks an unreadable 200 as a 500 before the witness's handler runs.
    assert read_keys(listing(b"soh&#x01;x"), 500) == (["soh\x01x"], 200)


def test_a_readable_reply_is_left_as_it_came() -> None:
    body = listing(b"plain")
    response = {"body": body, "status_code": 500}
    _readable_body(response)
    assert response == {"body": body, "status_code": 500}


def test_line_ends_between_elements_are_left_alone() -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\r\n<ListMultipartUploadsResult>\r\n'
            b"<Upload><Key>cr\rx</Key></Upload>\r\n</ListMultipartUploadsResult>")
    assert read_keys(body)[0] == ["cr\rx"]


def test_an_error_reply_keeps_its_status() -> None:
    body = b"<Error><Code>InternalError</Code><Key>k&#x01;</Key></Error>"
    assert read_keys(body, 500) == (["k\x01"], 500)
