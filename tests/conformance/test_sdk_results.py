"""Our GetResult against the official SDK's for the same canned response, field by field.

Where the SDK's behaviour is a defect, the deliberate differences are pinned at the end
of this file (and listed in the README)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from handler.obs.model import GET_RESULT_FIELDS
from tests.support.canned_server import Canned

if TYPE_CHECKING:
    from collections.abc import Callable

    from handler.obs import ObsClient
    from tests.support.canned_server import CannedServer

pytestmark = pytest.mark.conformance

NS = ' xmlns="http://obs.cn-north-4.myhuaweicloud.com/doc/2015-06-30/"'
RID = [("x-obs-request-id", "0000018A2B3C4D5E"), ("x-obs-id-2", "32AAAQAAEAABAAAQAAEAABAAAQAAEAABCS")]
IND = [("x-reserved-indicator", "9E2D4E3A1B0C")]


def error(code: str, message: str, *, ns: str = NS, request_id: str | None = "RID-XML",
          extra: str = "") -> bytes:
    rid = f"<RequestId>{request_id}</RequestId>" if request_id else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Error{ns}><Code>{code}</Code>'
        f"<Message>{message}</Message><Resource>/examplebucket/k</Resource>{rid}"
        f"<HostId>HOST-ID==</HostId>{extra}</Error>"
    ).encode()


XML = [("Content-Type", "application/xml")]
CASES: dict[str, Canned] = {
    "204": Canned(204, "No Content", [("Server", "OBS"), *RID, *IND]),
    "204-amz-ids": Canned(204, "No Content", [("x-amz-request-id", "AMZ1"), ("x-amz-id-2", "AMZ2")]),
    "204-no-ids": Canned(204, "No Content", [("Date", "Tue, 02 Jan 2024 03:04:05 GMT")]),
    "204-moto-reason": Canned(204, "NO CONTENT", [("x-amz-request-id", "M1")]),
    "404-NoSuchUpload": Canned(404, "Not Found", XML + RID, error("NoSuchUpload", "The specified multipart upload does not exist.")),
    "404-NoSuchUpload-no-ns": Canned(404, "Not Found", XML + RID, error("NoSuchUpload", "gone", ns="")),
    "404-NoSuchBucket": Canned(404, "Not Found", XML + RID + IND, error("NoSuchBucket", "The specified bucket does not exist")),
    "403-AccessDenied": Canned(403, "Forbidden", XML + RID, error("AccessDenied", "Access Denied")),
    "403-SignatureDoesNotMatch": Canned(403, "Forbidden", XML + RID, error(
        "SignatureDoesNotMatch", "The request signature we calculated does not match",
        extra="<StringToSignBytes>44 45</StringToSignBytes><SignatureProvided>x=</SignatureProvided>")),
    "403-RequestTimeTooSkewed": Canned(403, "Forbidden", XML + RID, error(
        "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.")),
    "400-InvalidArgument": Canned(400, "Bad Request", XML, error("InvalidArgument", "Invalid Argument")),
    "409-OperationAborted": Canned(409, "Conflict", XML + RID, error("OperationAborted", "A conflicting conditional operation is in progress")),
    "500-InternalError": Canned(500, "Internal Server Error", XML + RID, error("InternalError", "We encountered an internal error")),
    "503-ServiceUnavailable": Canned(503, "Service Unavailable", XML + RID, error("ServiceUnavailable", "Please reduce your request rate.")),
    "503-SlowDown": Canned(503, "Slow Down", XML + RID + [("Retry-After", "1")], error("SlowDown", "Please reduce your request rate.")),
    "502-html": Canned(502, "Bad Gateway", [("Content-Type", "text/html"), ("Server", "nginx")],
                       b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
    "404-empty": Canned(404, "Not Found", RID),
    "404-empty-no-ids": Canned(404, "Not Found", []),
    "404-xml-without-RequestId": Canned(404, "Not Found", XML + RID, error("NoSuchUpload", "gone", request_id=None)),
    "403-amz-compatible": Canned(403, "Forbidden", XML + [("x-amz-request-id", "AMZ-RID"), ("x-amz-id-2", "AMZ-ID2")],
                                 error("AccessDenied", "Access Denied", ns=' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', request_id=None)),
    "400-json": Canned(400, "Bad Request", [("Content-Type", "application/json"), *RID],
                       b'{"code":"InvalidArgument","message":"bad value","request_id":"JSON-RID"}'),
    "404-percent-encoded-header": Canned(404, "Not Found", XML + [("x-obs-meta-na%20me", "v%20al"), *RID],
                                         error("NoSuchKey", "no key")),
    "403-duplicate-header": Canned(403, "Forbidden", XML + [("x-obs-tag", "first"), ("x-obs-tag", "second")],
                                   error("AccessDenied", "dup")),
}


def _sdk_field(result: Any, name: str) -> Any:
    return getattr(result, name)


def _both(clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer,
          canned: Canned) -> tuple[Any, Any]:
    server.reply = canned
    sdk, ours = clients(path_style=False, token=False)
    theirs = sdk.abortMultipartUpload("examplebucket", "k", "U1")
    mine = ours.abortMultipartUpload("examplebucket", "k", "U1")
    return theirs, mine


@pytest.mark.parametrize("name", list(CASES))
def test_get_result_equals_the_sdks(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer, name: str
) -> None:
    theirs, mine = _both(clients, server, CASES[name])
    for field in GET_RESULT_FIELDS:
        assert getattr(mine, field) == _sdk_field(theirs, field), field
    assert set(mine.to_dict()) == set(GET_RESULT_FIELDS)



# -- deliberate differences: the SDK's defects, which we do better --------------------


def test_pretty_printed_error_is_trimmed(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer
) -> None:
    body = b"<?xml version='1.0'?>\n<Error>\n  <Code>\n    NoSuchUpload\n  </Code>\n  <Message>gone</Message>\n</Error>\n"
    theirs, mine = _both(clients, server, Canned(404, "Not Found", XML, body))
    assert theirs.errorCode != "NoSuchUpload"  # the SDK keeps the whitespace
    assert mine.errorCode == "NoSuchUpload"


@pytest.mark.parametrize("ns", [' xmlns="urn:example:obs"', ' xmlns:o="http://x/" '])
def test_other_namespaces_are_tolerated(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer, ns: str
) -> None:
    if ":o=" in ns:
        body = b'<?xml version="1.0"?><o:Error xmlns:o="http://x/"><o:Code>NoSuchUpload</o:Code></o:Error>'
    else:
        body = error("NoSuchUpload", "gone", ns=ns)
    theirs, mine = _both(clients, server, Canned(404, "Not Found", XML, body))
    assert theirs.errorCode is None
    assert mine.errorCode == "NoSuchUpload"


def test_blank_line_before_declaration(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer
) -> None:
    theirs, mine = _both(clients, server, Canned(404, "Not Found", XML, b"\n" + error("NoSuchUpload", "gone")))
    assert theirs.errorCode is None
    assert mine.errorCode == "NoSuchUpload"


def test_non_utf8_error_body_does_not_raise(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer
) -> None:
    body = "<Error><Code>AccessDenied</Code><Message>café</Message></Error>".encode("latin-1")
    server.reply = Canned(403, "Forbidden", XML, body)
    sdk, ours = clients(path_style=False, token=False)
    with pytest.raises(UnicodeDecodeError):
        sdk.abortMultipartUpload("examplebucket", "k", "U1")
    server.captured.clear()
    mine = ours.abortMultipartUpload("examplebucket", "k", "U1")
    assert mine.errorCode == "AccessDenied"
    assert mine.errorMessage == "caf\ufffd"


def test_to_dict_keeps_none_fields(
    clients: Callable[..., tuple[Any, ObsClient]], server: CannedServer
) -> None:
    theirs, mine = _both(clients, server, CASES["204"])
    assert "errorCode" not in theirs  # the SDK's dict drops None fields
    assert mine.to_dict()["errorCode"] is None
    assert mine["errorCode"] is None
