"""getBucketLifecycle and putContent against the official SDK: the same request on the
wire for the same Date, and the same GetResult for canned lifecycle answers."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

import pytest

from handler.obs.lifecycle import LifecycleResponse, configuration_of
from handler.obs.model import GET_RESULT_FIELDS
from tests.conformance.test_sdk_requests import _assert_same_wire, _capture_both
from tests.support.canned_server import Canned

if TYPE_CHECKING:
    from collections.abc import Callable

    from handler.obs import ObsClient
    from tests.support.canned_server import CannedServer

pytestmark = pytest.mark.conformance

MODES = [(False, False), (False, True), (True, False), (True, True)]  # (path_style, token)


@pytest.mark.parametrize(("path_style", "token"), MODES)
@pytest.mark.parametrize("bucket", ["examplebucket", "my.dotted.bucket"])
def test_get_bucket_lifecycle_request_matches(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
    path_style: bool, token: bool, bucket: str,
) -> None:
    sdk, ours = clients(path_style=path_style, token=token)
    server.reply = Canned(404, "Not Found", [("Content-Type", "application/xml")], b"")
    theirs, mine = _capture_both(
        server, lambda: sdk.getBucketLifecycle(bucket), lambda: ours.getBucketLifecycle(bucket)
    )
    _assert_same_wire(theirs, mine)
    assert mine.target.endswith("?lifecycle")


PUT_CASES = [
    ("report.html", "<html>é</html>", None),
    ("reports/2024/inventory.json", b'{"a": 1}', None),
    ("chart.svg", "<svg/>", {"owner": "janitor"}),
    ("page.png", b"\x89PNG\r\n", {"x-obs-meta-Run": "r 1/2"}),
    ("with space/na+me.txt", "", None),
    ("no-extension", b"data", None),
    ("中文/报告.html", "x", {"note": "a;b=c"}),
]


@pytest.mark.parametrize(("path_style", "token"), MODES)
@pytest.mark.parametrize(("key", "content", "metadata"), PUT_CASES)
def test_put_content_request_matches(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
    path_style: bool, token: bool, key: str, content: str | bytes, metadata: dict[str, str] | None,
) -> None:
    """Ours always sends Content-MD5; the SDK sends it when asked, so it is asked here."""
    from obs import PutObjectHeader

    sdk, ours = clients(path_style=path_style, token=token)
    server.reply = Canned(200, "OK", [("ETag", '"abc"')], b"")
    raw = content.encode() if isinstance(content, str) else content
    md5 = base64.b64encode(hashlib.md5(raw).digest()).decode()
    theirs, mine = _capture_both(
        server,
        lambda: sdk.putContent("examplebucket", key, content, metadata=metadata,
                               headers=PutObjectHeader(md5=md5)),
        lambda: ours.putContent("examplebucket", key, content, metadata=metadata),
    )
    _assert_same_wire(theirs, mine)
    for name in ("Content-Type", "Content-MD5", "Content-Length"):
        assert dict(mine.headers).get(name) == dict(theirs.headers).get(name), name


def test_put_content_result_matches(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer
) -> None:
    sdk, ours = clients(path_style=False, token=False)
    server.reply = Canned(200, "OK", [("ETag", '"9a0364b9e99bb480dd25e1f0284c8555"'),
                                      ("x-obs-version-id", "V1"), ("x-obs-request-id", "R1")])
    theirs = sdk.putContent("examplebucket", "r.html", "x")
    mine = ours.putContent("examplebucket", "r.html", "x")
    for field in ("status", "reason", "errorCode", "requestId", "header"):
        assert getattr(mine, field) == getattr(theirs, field), field
    for field in ("etag", "versionId", "storageClass", "objectUrl"):
        assert getattr(mine.body, field) == getattr(theirs.body, field), field


NS = ' xmlns="http://obs.cn-north-4.myhuaweicloud.com/doc/2015-06-30/"'
XML = [("Content-Type", "application/xml"), ("x-obs-request-id", "RID1")]


def _config(rules: str, ns: str = NS) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f"<LifecycleConfiguration{ns}>{rules}</LifecycleConfiguration>").encode()


ABORT_RULE = ("<Rule><ID>mpu-7d</ID><Prefix>uploads/</Prefix><Status>Enabled</Status>"
              "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
              "</AbortIncompleteMultipartUpload></Rule>")
FULL_RULE = ("<Rule><ID>logs</ID><Prefix>logs/</Prefix><Status>Disabled</Status>"
             "<Expiration><Days>70</Days></Expiration>"
             "<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration>"
             "<Transition><Days>30</Days><StorageClass>WARM</StorageClass></Transition>"
             "<Transition><Days>60</Days><StorageClass>COLD</StorageClass></Transition>"
             "<NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays><StorageClass>WARM</StorageClass></NoncurrentVersionTransition>"
             "<AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>")
LIFECYCLE_CASES: dict[str, Canned] = {
    "one-abort-rule": Canned(200, "OK", XML, _config(ABORT_RULE)),
    "full-rule-and-abort-rule": Canned(200, "OK", XML, _config(FULL_RULE + ABORT_RULE)),
    "empty-prefix-whole-bucket": Canned(200, "OK", XML, _config(
        "<Rule><ID>all</ID><Prefix></Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload>"
        "<DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>")),
    "s3-namespace": Canned(200, "OK", XML, _config(
        ABORT_RULE, ns=' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"')),
    "no-rules": Canned(200, "OK", XML, _config("")),
    "404-NoSuchLifecycleConfiguration": Canned(404, "Not Found", XML, (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchLifecycleConfiguration</Code>'
        b"<Message>The lifecycle configuration does not exist</Message><RequestId>RID2</RequestId>"
        b"<HostId>HOST</HostId><BucketName>examplebucket</BucketName></Error>")),
    "403-AccessDenied": Canned(403, "Forbidden", XML, (
        b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")),
}


def _rule_fields(rule: Any) -> dict[str, Any]:
    """A rule as plain values; the SDK's Expiration date (a local-midnight object) aside."""
    def days(node: Any, name: str) -> Any:
        return None if node is None else getattr(node, name)

    return {
        "id": rule.id, "prefix": rule.prefix, "status": rule.status,
        "expiration.days": days(rule.expiration, "days"),
        "noncurrent.days": days(rule.noncurrentVersionExpiration, "noncurrentDays"),
        "transition": [(t.storageClass, t.days) for t in rule.transition or []],
        "noncurrentTransition": [(t.storageClass, t.noncurrentDays)
                                 for t in rule.noncurrentVersionTransition or []],
        "abort": days(rule.abortIncompleteMultipartUpload, "daysAfterInitiation"),
    }


@pytest.mark.parametrize("name", list(LIFECYCLE_CASES))
def test_lifecycle_result_equals_the_sdks(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer, name: str
) -> None:
    server.reply = LIFECYCLE_CASES[name]
    sdk, ours = clients(path_style=False, token=False)
    theirs = sdk.getBucketLifecycle("examplebucket")
    mine = ours.getBucketLifecycle("examplebucket")
    for field in GET_RESULT_FIELDS:
        if field != "body":
            assert getattr(mine, field) == getattr(theirs, field), field
    if mine.ok:
        assert isinstance(mine.body, LifecycleResponse)
        their_rules = theirs.body.lifecycleConfig.rule
        assert [_rule_fields(r) for r in mine.body.lifecycleConfig.rule] == [
            _rule_fields(r) for r in their_rules]
    else:
        assert mine.body == theirs.body
    config = configuration_of(mine)
    if name.startswith("404"):
        assert config is not None and config.rule == []  # no configuration is normal
    elif name.startswith("403"):
        assert config is None  # not known
    else:
        assert config is not None and len(config.rule) == len(theirs.body.lifecycleConfig.rule)


def test_filtered_rule_prefix_is_read_unlike_the_sdk(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer
) -> None:
    """Deliberate difference: the SDK reads only <Rule><Prefix>, so a <Filter> rule (the
    newer OBS and S3 shape) comes back without its prefix there; ours keeps it."""
    server.reply = Canned(200, "OK", XML, _config(
        "<Rule><ID>f</ID><Filter><And><Prefix>tmp/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
        "</And></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload>"
        "<DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"))
    sdk, ours = clients(path_style=False, token=False)
    theirs = sdk.getBucketLifecycle("examplebucket")
    mine = ours.getBucketLifecycle("examplebucket")
    assert theirs.body.lifecycleConfig.rule[0].prefix is None
    rule = mine.body.lifecycleConfig.rule[0]
    assert rule.prefix == "tmp/" and rule.tags == (("k", "v"),)
    assert not rule.covers("tmp/x")  # a tag filter: an upload cannot be said to match
