"""Our requests against the official SDK's, on the wire: method, path, query, Authorization
and every x-obs-/x-amz- header must be identical for the same Date (docs/obs.md §9)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest

from tests.conformance.conftest import FROZEN_DATE

if TYPE_CHECKING:
    from collections.abc import Callable

    from handler.obs import ObsClient
    from tests.support.canned_server import CannedServer

pytestmark = pytest.mark.conformance

KEYS = [
    "plain.bin", "with space.txt", "a+b=c", "100%.txt", "tilde~name", "hash#frag",
    "q?uploadId=evil", "amp&x=1", "star*", "quote'd", "中文/文件.bin", "emoji😀.bin",
    "/leading-slash", "a//b", "trailing/", "k" * 1024, "dot/./seg", "up/../x",
    "semi;colon,comma", "(paren)[bracket]{brace}", "tab\there", "ctrl\x01char",
]  # no "": the SDK sends DELETE /?uploadId= to the bucket; ours refuses (test_client_refusals)
BUCKETS = ["examplebucket", "my.dotted.bucket", "hy-phen-bucket-01"]
UPLOAD_IDS = ["000001648453845DBB78F2340DD460AB", "moto+id/with=chars"]
MODES = [(False, False), (False, True), (True, False), (True, True)]  # (path_style, token)

ABORT_CASES = [
    pytest.param(bucket, key, upload_id, path_style, token,
                 id=f"{'path' if path_style else 'vhost'}-{'tok' if token else 'notok'}-{n}")
    for n, ((bucket, upload_id), key, (path_style, token)) in enumerate(
        zip(itertools.cycle(itertools.product(BUCKETS, UPLOAD_IDS)), KEYS * 4, MODES * 23)
    )
]


def _capture_both(
    server: CannedServer, sdk_call: Callable[[], Any], our_call: Callable[[], Any]
) -> tuple[Any, Any]:
    sdk_call()
    theirs = server.take()
    our_call()
    ours = server.take()
    return theirs, ours


def _assert_same_wire(theirs: Any, ours: Any) -> None:
    assert ours.method == theirs.method
    assert ours.target == theirs.target
    assert ours.host == theirs.host
    assert ours.prefixed_headers() == theirs.prefixed_headers()
    assert dict(ours.headers).get("Date") == dict(theirs.headers).get("Date")


@pytest.mark.parametrize(("bucket", "key", "upload_id", "path_style", "token"), ABORT_CASES)
def test_abort_request_is_byte_identical(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
    bucket: str, key: str, upload_id: str, path_style: bool, token: bool,
) -> None:
    sdk, ours = clients(path_style=path_style, token=token)
    theirs, mine = _capture_both(
        server,
        lambda: sdk.abortMultipartUpload(bucket, key, upload_id),
        lambda: ours.abortMultipartUpload(bucket, key, upload_id),
    )
    _assert_same_wire(theirs, mine)
    assert mine.prefixed_headers()["authorization"].startswith("AWS " if path_style else "OBS ")


EXTENSION_CASES = [
    {"requesterPayer": "requester"},
    {"x-obs-custom": "v a/l;ue?&=+$,'*中"},
    {"x-obs-date": FROZEN_DATE},
    {"x-amz-date": FROZEN_DATE},
    {"x-obs-empty": "", "x-obs-kept": "1"},
    {"x-obs-meta-note": "  padded  "},
    {"x-amz-other-scheme": "sent-not-signed"},
]


@pytest.mark.parametrize("extension", EXTENSION_CASES)
@pytest.mark.parametrize("path_style", [False, True])
def test_extension_headers_match(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
    extension: dict[str, str], path_style: bool,
) -> None:
    sdk, ours = clients(path_style=path_style, token=True)
    theirs, mine = _capture_both(
        server,
        lambda: sdk.abortMultipartUpload("examplebucket", "k", "U1", extensionHeaders=extension),
        lambda: ours.abortMultipartUpload("examplebucket", "k", "U1", extensionHeaders=extension),
    )
    _assert_same_wire(theirs, mine)


LIST_CASES = [
    {},
    {"prefix": "logs/2024 q1+"},
    {"prefix": "a", "delimiter": "/", "max_uploads": 1000},
    {"key_marker": "k m", "upload_id_marker": "U+1", "max_uploads": 10},
    {"prefix": "中文/", "encoding_type": "url"},
    {"prefix": "", "key_marker": ""},
]


@pytest.mark.parametrize("options", LIST_CASES)
@pytest.mark.parametrize("path_style", [False, True])
def test_list_uploads_request_matches(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
    options: dict[str, Any], path_style: bool,
) -> None:
    from obs import ListMultipartUploadsRequest

    sdk, ours = clients(path_style=path_style, token=False)
    server.reply.status, server.reply.reason = 200, "OK"
    sdk_options = {k: v for k, v in options.items() if k != "encoding_type"}
    theirs, mine = _capture_both(
        server,
        lambda: sdk.listMultipartUploads(
            "examplebucket", ListMultipartUploadsRequest(**sdk_options),
            encoding_type=options.get("encoding_type"),
        ),
        lambda: ours.listMultipartUploads("examplebucket", **options),
    )
    _assert_same_wire(theirs, mine)


@pytest.mark.parametrize(
    ("key", "max_parts", "marker"), [("a b/c", None, None), ("x+y", 100, 7), ("中", 1000, None)]
)
@pytest.mark.parametrize("path_style", [False, True])
def test_list_parts_request_matches(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
    key: str, max_parts: int | None, marker: int | None, path_style: bool,
) -> None:
    sdk, ours = clients(path_style=path_style, token=True)
    server.reply.status, server.reply.reason = 200, "OK"
    theirs, mine = _capture_both(
        server,
        lambda: sdk.listParts("examplebucket", key, "U1", maxParts=max_parts,
                              partNumberMarker=marker),
        lambda: ours.listParts("examplebucket", key, "U1", max_parts=max_parts,
                               part_number_marker=marker),
    )
    _assert_same_wire(theirs, mine)
