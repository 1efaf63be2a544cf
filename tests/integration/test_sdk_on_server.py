"""Our GetResult against the official SDK's, on the same real server, case for case.

tests/conformance/ compares the two on canned replies; here the replies are the server's
own. Each case sends the same abort from both clients (the success case aborts two uploads
of one key, one each). What differs between two requests by nature, the request ID and the
Date, is set aside; every other field must be equal, headers and body included.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from handler.obs import ObsClient
from handler.obs.model import GET_RESULT_FIELDS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import Target

obs_sdk = pytest.importorskip("obs")

KEY = "sdk/compare me.bin"
# What the server answers in each case: (status, errorCode).
CASES: dict[str, tuple[int, str | None]] = {
    "aborted": (204, None),
    "NoSuchUpload": (404, "NoSuchUpload"),
    "NoSuchBucket": (404, "NoSuchBucket"),
    "SignatureDoesNotMatch": (403, "SignatureDoesNotMatch"),
    "InvalidAccessKeyId": (403, "InvalidAccessKeyId"),
    "AccessDenied": (403, "AccessDenied"),
}
# moto checks no V2 signature, no access key and no bucket policy: the other cases would
# abort the upload, so they run on RGW only.
MOTO_ANSWERS = {"aborted", "NoSuchUpload", "NoSuchBucket"}


@pytest.fixture
def closing() -> Iterator[ExitStack]:
    """Every client a test makes is closed after it (the suite fails on unclosed sockets)."""
    with ExitStack() as stack:
        yield stack


def clients(server: Target, closing: ExitStack, *, access_key: str | None = None,
            secret_key: str | None = None) -> tuple[Any, ObsClient]:
    settings = server.settings()
    ak = access_key or settings["OBS_ACCESS_KEY_ID"]
    sk = secret_key or settings["OBS_SECRET_ACCESS_KEY"]
    # Long connections: in its default mode the SDK asks the server to close each one,
    # which the reply's Connection header then says; ours keeps them alive.
    sdk = obs_sdk.ObsClient(access_key_id=ak, secret_access_key=sk, server=server.endpoint,
                            signature="v2", path_style=True, long_conn_mode=True)
    ours = ObsClient(ak, sk, server.endpoint)
    closing.callback(sdk.close)
    closing.callback(ours.close)
    return sdk, ours


def comparable(result: Any) -> dict[str, Any]:
    """The GetResult's fields with this request's own ID and Date set aside."""
    request_id = result.requestId

    def own(value: Any) -> Any:
        if isinstance(value, str) and request_id:
            return value.replace(request_id, "<request id>")
        return value

    fields = {name: own(getattr(result, name)) for name in GET_RESULT_FIELDS}
    fields["header"] = [(name, "<date>" if name.lower() == "date" else own(value))
                        for name, value in result.header or []]
    return fields


def both_abort(server: Target, closing: ExitStack, s3: Any, bucket: str, case: str
               ) -> tuple[Any, Any]:
    def start() -> str:
        upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key=KEY)["UploadId"]
        return upload_id

    upload_id, target = start(), bucket
    sdk, ours = clients(server, closing)
    if case == "aborted":
        return (sdk.abortMultipartUpload(bucket, KEY, upload_id),
                ours.abortMultipartUpload(bucket, KEY, start()))
    if case == "NoSuchUpload":
        assert ours.abortMultipartUpload(bucket, KEY, upload_id).status == 204
    elif case == "NoSuchBucket":
        target = f"{bucket}-none"
    elif case == "SignatureDoesNotMatch":
        sdk, ours = clients(server, closing, secret_key="not-the-secret-key-of-this-user")
    elif case == "InvalidAccessKeyId":
        sdk, ours = clients(server, closing, access_key="NOSUCHACCESSKEY00000")
    elif case == "AccessDenied":
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*",
                           "Action": "s3:AbortMultipartUpload",
                           "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    return (sdk.abortMultipartUpload(target, KEY, upload_id),
            ours.abortMultipartUpload(target, KEY, upload_id))


@pytest.mark.parametrize("case", list(CASES))
def test_get_result_equals_the_sdks_on_the_server(server: Target, closing: ExitStack,
                                                  s3: Any, bucket: str, case: str) -> None:
    if server.name == "moto" and case not in MOTO_ANSWERS:
        pytest.skip(f"moto does not answer {case}")
    theirs, mine = both_abort(server, closing, s3, bucket, case)
    assert (mine.status, mine.errorCode) == CASES[case]
    if server.name == "rgw":
        assert mine.requestId, "RGW's request ID reaches the result"
    assert comparable(mine) == comparable(theirs)
