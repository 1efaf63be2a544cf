"""Signing vectors (tests/vectors/signing.json): string to sign first, then the header."""

from __future__ import annotations

import json
import locale
from pathlib import Path
from typing import Any

import pytest
import requests

from handler.obs.credentials import Credentials
from handler.obs.signer import (
    OBS_SIGNATURE,
    V2_SIGNATURE,
    ObsAuth,
    authorization,
    canonical_headers,
    canonical_resource,
    encode_object_key,
    http_date,
    signature,
    string_to_sign,
)

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "signing.json").read_text())
SCHEMES = {"obs": OBS_SIGNATURE, "v2": V2_SIGNATURE}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["source"][:60] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    scheme = SCHEMES[vector["scheme"]]
    resource = canonical_resource(
        bucket=vector["bucket"], path=vector["path"], query=vector["query"],
        path_style=vector["path_style"], scheme=scheme,
    )
    text = string_to_sign(
        method=vector["method"], headers=vector["headers"], resource=resource, scheme=scheme
    )
    assert text == vector["string_to_sign"]
    if vector["authorization"]:
        sig = signature(vector["secret_access_key"], text)
        assert authorization(scheme, vector["access_key_id"], sig) == vector["authorization"]


def test_auth_hook_signs_the_prepared_request_with_the_injected_clock() -> None:
    creds = Credentials.of("AKEXAMPLE", "SKEXAMPLE", "TOKEN123")
    auth = ObsAuth(creds, scheme=OBS_SIGNATURE, bucket="examplebucket", path_style=False,
                   clock=lambda: 1435728507.0)
    prepared = requests.PreparedRequest()
    prepared.method, prepared.body = "DELETE", None
    prepared.url = ("https://examplebucket.obs.test/dir%20one/a%2Bb~c.bin"
                    "?uploadId=00000163D46218698DF407362295674C")
    prepared.headers = requests.structures.CaseInsensitiveDict()
    auth(prepared)
    assert prepared.headers["Date"] == "Wed, 01 Jul 2015 05:28:27 GMT"
    assert prepared.headers["x-obs-security-token"] == "TOKEN123"
    assert prepared.headers["Authorization"] == VECTORS[0]["authorization"]


def test_caller_date_header_replaces_date() -> None:
    auth = ObsAuth(Credentials.of("AK", "SK"), scheme=OBS_SIGNATURE, bucket="b",
                   path_style=False, clock=lambda: 0.0)
    prepared = requests.PreparedRequest()
    prepared.method, prepared.body, prepared.url = "GET", None, "https://b.obs.test/?uploads"
    prepared.headers = requests.structures.CaseInsensitiveDict(
        {"x-obs-date": "Wed, 01 Jul 2015 04:51:21 GMT"})
    auth(prepared)
    assert "Date" not in prepared.headers


def test_http_date_ignores_the_locale() -> None:
    previous = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "zh_CN.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
                break
            except locale.Error:
                continue
        assert http_date(1435728507) == "Wed, 01 Jul 2015 05:28:27 GMT"
    finally:
        locale.setlocale(locale.LC_TIME, previous)


@pytest.mark.parametrize(
    ("key", "encoded"),
    [("a b", "a%20b"), ("a+b", "a%2Bb"), ("~x/y", "~x/y"), ("中", "%E4%B8%AD"),
     ("100%", "100%25"), ("q?x#y", "q%3Fx%23y"), ("*'", "%2A%27")],
)
def test_object_key_encoding(key: str, encoded: str) -> None:
    assert encode_object_key(key) == encoded


def test_canonical_headers_sort_lowercase_and_trim_only_metadata() -> None:
    headers = {"X-Obs-B": " two ", "x-obs-a": "one", "x-obs-meta-c": "  three ", "x-amz-z": "no"}
    assert canonical_headers(headers, OBS_SIGNATURE) == (
        "x-obs-a:one\nx-obs-b: two \nx-obs-meta-c:three\n"
    )


def test_sub_resources_sorted_and_ordinary_parameters_excluded() -> None:
    resource = canonical_resource(
        bucket="b", path="/k", query="uploadId=U%2B1&partNumber=3&max-parts=5&x-obs-acl=p",
        path_style=False, scheme=OBS_SIGNATURE,
    )
    assert resource == "/b/k?partNumber=3&uploadId=U+1&x-obs-acl=p"


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials.of(" AK ", " SECRET-SENTINEL ", " TOKEN-SENTINEL ")
    assert creds.access_key_id == "AK" and creds.secret_access_key == "SECRET-SENTINEL"
    assert "SENTINEL" not in repr(creds)


def test_the_plain_text_shortcut_encodes_exactly_as_quote() -> None:
    import random
    import string
    from urllib.parse import quote

    from handler.obs.signer import encode_object_key, encode_query_value

    rng = random.Random(16)
    alphabet = string.printable + "中é%\u00a0\U0001f600"
    samples = ["", "a", "sweep/000000001", "~/.-_", "a b", "a+b", "100%", "k?x=1", "中"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
                for _ in range(5000)]
    for text in samples:
        assert encode_object_key(text) == quote(text, safe="/~")
        assert encode_query_value(text) == quote(text, safe="/")
