"""getBucketLifecycle's model (what a rule does to an upload) and putContent's request."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import timezone

import pytest
import responses

from handler.obs import ObsClient, configuration_of
from handler.obs.lifecycle import Lifecycle, parse_lifecycle
from handler.obs.model import GetResult

ENDPOINT = "https://obs.cn-north-4.myhuaweicloud.com"
BUCKET_URL = "https://examplebucket.obs.cn-north-4.myhuaweicloud.com"
UTC = timezone.utc


def _doc(rules: str) -> str:
    return f'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{rules}</LifecycleConfiguration>'


def _abort(days: str) -> str:
    return f"<AbortIncompleteMultipartUpload><DaysAfterInitiation>{days}</DaysAfterInitiation></AbortIncompleteMultipartUpload>"


SHAPES = [
    # (rule XML, key, covered?, prefix)
    (f"<Rule><ID>a</ID><Prefix>up/</Prefix><Status>Enabled</Status>{_abort('7')}</Rule>", "up/x", True, "up/"),
    (f"<Rule><ID>a</ID><Prefix>up/</Prefix><Status>Enabled</Status>{_abort('7')}</Rule>", "other/x", False, "up/"),
    (f"<Rule><ID>a</ID><Prefix>up/</Prefix><Status>Disabled</Status>{_abort('7')}</Rule>", "up/x", False, "up/"),
    (f"<Rule><ID>a</ID><Status>Enabled</Status>{_abort('1')}</Rule>", "any", True, None),
    (f"<Rule><ID>a</ID><Filter><Prefix>s3/</Prefix></Filter><Status>Enabled</Status>{_abort('2')}</Rule>", "s3/k", True, "s3/"),
    (f"<Rule><ID>a</ID><Filter></Filter><Status>Enabled</Status>{_abort('2')}</Rule>", "k", True, None),
    (f"<Rule><ID>a</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>a</Key><Value>b</Value></Tag></And></Filter><Status>Enabled</Status>{_abort('2')}</Rule>", "t/k", False, "t/"),
    (f"<Rule><ID>a</ID><Filter><And><Prefix>z/</Prefix><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>{_abort('2')}</Rule>", "z/k", False, "z/"),
    (f"<Rule><ID>a</ID><Prefix> sp</Prefix><Status>Enabled</Status>{_abort('2')}</Rule>", " sp/k", True, " sp"),
    ("<Rule><ID>a</ID><Prefix>up/</Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>", "up/x", False, "up/"),
    (f"<Rule><ID>a</ID><Prefix>up/</Prefix><Status>Enabled</Status>{_abort('x')}</Rule>", "up/x", False, "up/"),
    (f"<Rule><ID>a</ID><Prefix>up/</Prefix><Status>Enabled</Status>{_abort('-1')}</Rule>", "up/x", False, "up/"),
    (f"<Rule><ID>a</ID><Prefix>up/</Prefix><Status>enabled</Status>{_abort('0')}</Rule>", "up/x", True, "up/"),
]


@pytest.mark.parametrize(("rule_xml", "key", "covered", "prefix"), SHAPES)
def test_rule_shapes(rule_xml: str, key: str, covered: bool, prefix: str | None) -> None:
    parsed = parse_lifecycle(_doc(rule_xml))
    assert parsed is not None
    (rule,) = parsed.lifecycleConfig.rule
    assert rule.prefix == prefix
    assert rule.covers(key) is covered


def test_not_xml_is_no_body() -> None:
    assert parse_lifecycle("<html>proxy") is None


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (GetResult(status=404, errorCode="NoSuchLifecycleConfiguration"), Lifecycle()),
        (GetResult(status=404, errorCode="NoSuchBucket"), None),
        (GetResult(status=403, errorCode="AccessDenied"), None),
        (GetResult(status=200, body=None), None),
    ],
)
def test_configuration_of(result: GetResult, expected: Lifecycle | None) -> None:
    assert configuration_of(result) == expected


def test_get_bucket_lifecycle_is_signed_with_the_sub_resource() -> None:
    client = ObsClient("AK", "SK", ENDPOINT, clock=lambda: 1_700_000_000.0)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BUCKET_URL}/?lifecycle", status=200,
                 body=_doc(f"<Rule><ID>a</ID><Status>Enabled</Status>{_abort('3')}</Rule>"))
        result = client.getBucketLifecycle("examplebucket")
        sent = rsps.calls[0].request
    assert sent.url == f"{BUCKET_URL}/?lifecycle"
    from handler.obs.signer import canonical_resource, path_and_query

    path, query = path_and_query(sent.url)
    assert canonical_resource(bucket="examplebucket", path=path, query=query, path_style=False,
                              scheme=client.signature) == "/examplebucket/?lifecycle"
    config = configuration_of(result)
    assert config is not None and config.rule[0].abort_days == 3


class TestPutContent:
    @pytest.fixture
    def client(self) -> ObsClient:
        return ObsClient("AK", "SK", ENDPOINT, clock=lambda: 1_700_000_000.0,
                         max_retry_count=2, sleep=lambda _: None)

    @pytest.mark.parametrize(
        ("content", "raw"),
        [("<p>é</p>", "<p>é</p>".encode()), (b"\x00\xff", b"\x00\xff"), (None, b""),
         (io.BytesIO(b"file body"), b"file body"), (io.StringIO("text file"), b"text file")],
    )
    def test_body_md5_and_type(self, client: ObsClient, content: object, raw: bytes) -> None:
        with responses.RequestsMock() as rsps:
            rsps.add("PUT", f"{BUCKET_URL}/r/page.html", status=200,
                     headers={"ETag": '"e"', "x-obs-version-id": "V9"})
            result = client.putContent("examplebucket", "r/page.html", content,
                                       metadata={"run": "42"})
            sent = rsps.calls[0].request
        assert sent.body == raw
        assert sent.headers["Content-Length"] == str(len(raw))
        assert sent.headers["Content-MD5"] == base64.b64encode(hashlib.md5(raw).digest()).decode()
        assert sent.headers["Content-Type"] == "text/html"
        assert sent.headers["x-obs-meta-run"] == "42"
        assert result.ok and result.body.etag == '"e"' and result.body.versionId == "V9"
        assert result.body.objectUrl == f"{BUCKET_URL}/r/page.html"
        if hasattr(content, "closed"):
            assert content.closed  # autoClose, as the SDK

    def test_retried_put_resends_the_whole_body(self, client: ObsClient) -> None:
        with responses.RequestsMock() as rsps:
            rsps.add("PUT", re.compile(r".*"), status=503)
            rsps.add("PUT", re.compile(r".*"), status=200)
            result = client.putContent("examplebucket", "k.json", io.BytesIO(b"abc"))
            bodies = [call.request.body for call in rsps.calls]
        assert result.ok and bodies == [b"abc", b"abc"]

    def test_caller_md5_and_type_win_and_unknown_headers_raise(self, client: ObsClient) -> None:
        with responses.RequestsMock() as rsps:
            rsps.add("PUT", re.compile(r".*"), status=200)
            client.putContent("examplebucket", "k", "x",
                              headers={"contentType": "text/csv", "md5": "bWQ1"})
            sent = rsps.calls[0].request
        assert sent.headers["Content-Type"] == "text/csv" and sent.headers["Content-MD5"] == "bWQ1"
        with pytest.raises(ValueError, match="acl"):
            client.putContent("examplebucket", "k", "x", headers={"acl": "public-read"})
        with pytest.raises(TypeError):
            client.putContent("examplebucket", "k", 12345)

    def test_progress_callback_and_error_result(self, client: ObsClient) -> None:
        seen: list[tuple[int, int]] = []
        with responses.RequestsMock() as rsps:
            rsps.add("PUT", re.compile(r".*"), status=403,
                     body="<Error><Code>AccessDenied</Code></Error>")
            result = client.putContent("examplebucket", "k", "four",
                                       progressCallback=lambda done, total, _: seen.append((done, total)))
        assert result.errorCode == "AccessDenied" and result.body is not None
        assert seen == [(4, 4)]
