"""Namespace-tolerant parsing of OBS XML bodies: errors, upload listings, part listings.

Named ``xmlparse`` rather than ``xml`` so that it can never shadow the standard library.

Two things servers send that XML 1.0 forbids are recovered here rather than losing the
page (docs/rgw.md has the captured bodies):

- a key with a control character, written as a character reference (Ceph RGW:
  ``<Key>a&#x1b;b</Key>``, even in ``NextKeyMarker``) or raw (moto);
- a raw carriage return inside a key, which an XML parser would silently turn into a
  line feed (end-of-line normalisation), naming another object.

Which name fields are URL-encoded is decided from the reply: ``<EncodingType>url`` says
so (OBS, S3). A marker is decoded only if it really is encoded: RGW-like servers send
``NextKeyMarker`` raw next to encoded keys, and decoding a raw marker holding ``+`` or
``%`` would resume the listing somewhere else.
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import unquote_plus

from handler.obs.dates import parse_iso8601
from handler.obs.listings import (
    CommonPrefix,
    Initiator,
    ListMultipartUploadsResponse,
    ListPartsResponse,
    Owner,
    Part,
    Upload,
)

# The SDK removes the first ``xmlns="http…"`` from the error text it returns as ``body``
# (docs/obs.md §5.9); we remove every default namespace declaration, whatever its scheme.
_DEFAULT_NAMESPACE = re.compile(r'xmlns="[^"]*"')
_FRACTION = re.compile(r"\.(\d+)")
# A character reference: decimal or hexadecimal.
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")
# Characters XML 1.0 does not allow at all (https://www.w3.org/TR/xml/#charsets).
_RAW_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Text between two tags.
_TEXT = re.compile(r">[^<]*<")
# The XML declaration and blank space before the root element, left as they are.
_PROLOG = re.compile(r"\A[\ufeff \t\r\n]*(?:<\?xml[^>]*\?>)?[ \t\r\n]*")


@dataclass(frozen=True, slots=True)
class ErrorDocument:
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    host_id: str | None = None
    resource: str | None = None


def strip_default_namespace(text: str) -> str:
    return _DEFAULT_NAMESPACE.sub("", text)


def _allowed(code: int) -> bool:
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


def _sentinel(text: str) -> str | None:
    """A private-use character that neither occurs in ``text`` nor is referenced there
    (``&#xE000;``): it marks recovered characters, so keys come back exactly."""
    referenced = {_ref_code(m) for m in _CHAR_REF.finditer(text)}
    for code in range(0xE000, 0xF900):
        if code not in referenced and chr(code) not in text:
            return chr(code)
    return None


def _protect(text: str) -> tuple[str, str | None]:
    """Rewrite what XML 1.0 would refuse or alter, so that the parse keeps keys exact.

    Each forbidden character (raw or as a reference) becomes ``S<hex>S``, with ``S`` a
    character the body does not contain; ``_restore`` turns them back after parsing. A
    raw carriage return becomes ``&#13;``, which a parser keeps as it is.
    """
    prolog = _PROLOG.match(text)
    head, body = (text[: prolog.end()], text[prolog.end():]) if prolog else ("", text)
    body = body.rstrip(" \t\r\n")
    needs_sentinel = _RAW_INVALID.search(body) is not None or any(
        not _allowed(_ref_code(m)) for m in _CHAR_REF.finditer(body))
    sentinel = _sentinel(body) if needs_sentinel else None
    if sentinel is not None:
        mark = sentinel

        def reference(match: re.Match[str]) -> str:
            code = _ref_code(match)
            return match.group(0) if _allowed(code) else f"{mark}{code:x}{mark}"

        body = _CHAR_REF.sub(reference, body)
        body = _RAW_INVALID.sub(lambda m: f"{mark}{ord(m.group(0)):x}{mark}", body)
    if "\r" in body:  # only in text between tags: a reference inside a tag is an error
        body = _TEXT.sub(lambda m: m.group(0).replace("\r", "&#13;"), body)
    return head + body, sentinel


def _ref_code(match: re.Match[str]) -> int:
    hexadecimal, decimal = match.group(1), match.group(2)
    return int(hexadecimal, 16) if hexadecimal is not None else int(decimal)


def _restore(root: ET.Element, sentinel: str) -> None:
    marked = re.compile(f"{re.escape(sentinel)}([0-9a-f]+){re.escape(sentinel)}")

    def back(value: str | None) -> str | None:
        if value is None or sentinel not in value:
            return value
        return marked.sub(lambda m: chr(int(m.group(1), 16)), value)

    for element in root.iter():
        element.text = back(element.text)
        element.tail = back(element.tail)


# Why the last listing body parsed in this thread was refused. The client keeps only
# the parsed body, so the pager reads the reason here to say what was wrong.
_LAST = threading.local()


def last_problem() -> str | None:
    """Why the last listing parsed in this thread came back None; None if it did not."""
    problem: str | None = getattr(_LAST, "problem", None)
    return problem


def clear_problem() -> None:
    """Forget the last reason (before a request whose reply may have no body to parse)."""
    _LAST.problem = None


def _refuse(problem: str | None) -> None:
    _LAST.problem = problem


def parse_document(text: str) -> ET.Element | None:
    """Parse XML, dropping every namespace from tags; None when it is not XML.

    Leading blank lines and a BOM are tolerated (the SDK gives up on them), and so are
    characters XML 1.0 forbids (see the module's docstring): they come back exactly.
    """
    protected, sentinel = _protect(text.lstrip("\ufeff \t\r\n"))
    try:
        root = ET.fromstring(protected)
    except ET.ParseError as exc:
        _refuse(f"not well-formed XML ({exc})")
        return None
    if sentinel is not None:
        _restore(root, sentinel)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.rpartition("}")[2]
    return root


def _text(node: ET.Element | None, path: str) -> str | None:
    """Stripped text of a child (codes, ids, numbers, dates); None if absent."""
    value = _raw(node, path)
    return value.strip() if value is not None else None


def _name(node: ET.Element, path: str, *, url_encoded: bool) -> str | None:
    """A key, prefix or marker: never stripped (spaces are part of a key), decoded if asked."""
    value = _raw(node, path)
    return unquote_plus(value) if url_encoded and value is not None else value


def _raw(node: ET.Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = node.find(path)
    return None if found is None else found.text


def _int(node: ET.Element, path: str) -> int | None:
    value = _text(node, path)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _bool(node: ET.Element, path: str) -> bool:
    return (_text(node, path) or "").lower() == "true"


def parse_error(text: str) -> ErrorDocument | None:
    """The fields of an ``<Error>`` document (docs/obs.md §4.4); None if not XML."""
    root = parse_document(text)
    if root is None:
        return None
    return ErrorDocument(
        code=_text(root, "Code"),
        message=_text(root, "Message"),
        request_id=_text(root, "RequestId"),
        host_id=_text(root, "HostId"),
        resource=_text(root, "Resource"),
    )


def _initiator(node: ET.Element) -> Initiator:
    return Initiator(id=_text(node, "Initiator/ID"), name=_text(node, "Initiator/DisplayName"))


def _owner(node: ET.Element) -> Owner:
    return Owner(owner_id=_text(node, "Owner/ID"), owner_name=_text(node, "Owner/DisplayName"))


def _marker(root: ET.Element, path: str, url: bool, listed: list[str]) -> str | None:
    """A key marker as the server meant it.

    With ``EncodingType=url`` S3 encodes the markers too, but servers differ, so the
    page itself decides: the next-key marker names the page's last entry (the greatest
    key or common prefix). If it equals that entry as it stands, it was sent raw; if it
    equals it once decoded, it was encoded. Without such evidence, EncodingType rules.
    """
    raw = _raw(root, path)
    if raw is None or not url:
        return raw
    if listed:
        last = max(listed)
        if raw == last:
            return raw
        if unquote_plus(raw) == last:
            return unquote_plus(raw)
    return unquote_plus(raw)


def parse_list_uploads(text: str) -> ListMultipartUploadsResponse | None:
    """A ListMultipartUploads page (docs/obs.md §4.3).

    Name fields are decoded only when the reply says ``<EncodingType>url``; a server
    that encodes without saying so (Ceph RGW) is caught by the pager, which then asks
    again without encoding-type (handler/obs/paging.py).
    """
    _refuse(None)
    root = parse_document(text)
    if root is None:
        return None
    if root.tag != "ListMultipartUploadsResult":
        _refuse(f"a <{root.tag}> document, not <ListMultipartUploadsResult>")
        return None
    encoding = _text(root, "EncodingType")
    url = encoding == "url"
    uploads = [
        Upload(
            key=_name(node, "Key", url_encoded=url) or "",
            uploadId=_name(node, "UploadId", url_encoded=False) or "",
            initiator=_initiator(node),
            owner=_owner(node),
            storageClass=_text(node, "StorageClass"),
            initiated=parse_iso8601(_text(node, "Initiated")),
        )
        for node in root.findall("Upload")
    ]
    prefixes = [
        CommonPrefix(prefix=_name(node, "Prefix", url_encoded=url))
        for node in root.findall("CommonPrefixes")
    ]
    listed = [u.key for u in uploads] + [p.prefix for p in prefixes if p.prefix is not None]
    return ListMultipartUploadsResponse(
        bucket=_text(root, "Bucket"),
        keyMarker=_name(root, "KeyMarker", url_encoded=url),
        uploadIdMarker=_name(root, "UploadIdMarker", url_encoded=False),
        nextKeyMarker=_marker(root, "NextKeyMarker", url, listed),
        nextUploadIdMarker=_name(root, "NextUploadIdMarker", url_encoded=False),
        maxUploads=_int(root, "MaxUploads"),
        isTruncated=_bool(root, "IsTruncated"),
        prefix=_name(root, "Prefix", url_encoded=url),
        delimiter=_name(root, "Delimiter", url_encoded=url),
        upload=uploads,
        commonPrefixs=prefixes,
        encoding_type=encoding,
    )


def parse_list_parts(text: str) -> ListPartsResponse | None:
    """A ListParts page: each part's number, size, etag and UTC last-modified time."""
    _refuse(None)
    root = parse_document(text)
    if root is None:
        return None
    if root.tag not in ("ListPartsResult", "ListPartsResponse"):  # moto says Response
        _refuse(f"a <{root.tag}> document, not <ListPartsResult>")
        return None
    encoding = _text(root, "EncodingType")
    parts = [
        Part(
            partNumber=_int(node, "PartNumber"),
            lastModified=parse_iso8601(_text(node, "LastModified")),
            etag=_text(node, "ETag"),
            size=_int(node, "Size"),
        )
        for node in root.findall("Part")
    ]
    return ListPartsResponse(
        bucketName=_text(root, "Bucket"),
        objectKey=_name(root, "Key", url_encoded=encoding == "url"),
        uploadId=_name(root, "UploadId", url_encoded=False),
        initiator=_initiator(root),
        owner=_owner(root),
        storageClass=_text(root, "StorageClass"),
        partNumberMarker=_int(root, "PartNumberMarker"),
        nextPartNumberMarker=_int(root, "NextPartNumberMarker"),
        maxParts=_int(root, "MaxParts"),
        isTruncated=_bool(root, "IsTruncated"),
        parts=parts,
        encoding_type=encoding,
    )
