"""Namespace-tolerant parsing of OBS XML bodies: errors, upload listings, part listings.

Named ``xmlparse`` rather than ``xml`` so that it can never shadow the standard library.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote_plus

from handler.obs.model import (
    CommonPrefix,
    Initiator,
    ListMultipartUploadsResponse,
    ListPartsResponse,
    Owner,
    Part,
    Upload,
)

# The SDK removes the first ``xmlns="http…"`` from the error text it returns as ``body``
# (reference §5.9); we remove every default namespace declaration, whatever its scheme.
_DEFAULT_NAMESPACE = re.compile(r'xmlns="[^"]*"')
_FRACTION = re.compile(r"\.(\d+)")


@dataclass(frozen=True, slots=True)
class ErrorDocument:
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    host_id: str | None = None
    resource: str | None = None


def strip_default_namespace(text: str) -> str:
    return _DEFAULT_NAMESPACE.sub("", text)


def parse_document(text: str) -> ET.Element | None:
    """Parse XML, dropping every namespace from tags; None when it is not XML.

    Leading blank lines and a BOM are tolerated (the SDK gives up on them).
    """
    try:
        root = ET.fromstring(text.lstrip("\ufeff \t\r\n"))
    except ET.ParseError:
        return None
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


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 such as ``2015-07-01T02:30:54.582Z`` (reference §4.3) as an aware UTC
    datetime; None if unusable. Any number of fraction digits (EventGrid sends nine):
    Python 3.10's fromisoformat, FunctionGraph's runtime, takes only three or six."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "00000")[:6], value.strip())
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_error(text: str) -> ErrorDocument | None:
    """The fields of an ``<Error>`` document (reference §4.4); None if not XML."""
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


def parse_list_uploads(text: str) -> ListMultipartUploadsResponse | None:
    """A ListMultipartUploads page (reference §4.3); keys decoded when URL-encoded."""
    root = parse_document(text)
    if root is None:
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
            initiated=parse_timestamp(_text(node, "Initiated")),
        )
        for node in root.findall("Upload")
    ]
    prefixes = [
        CommonPrefix(prefix=_name(node, "Prefix", url_encoded=url))
        for node in root.findall("CommonPrefixes")
    ]
    return ListMultipartUploadsResponse(
        bucket=_text(root, "Bucket"),
        keyMarker=_name(root, "KeyMarker", url_encoded=url),
        uploadIdMarker=_name(root, "UploadIdMarker", url_encoded=False),
        nextKeyMarker=_name(root, "NextKeyMarker", url_encoded=url),
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
    root = parse_document(text)
    if root is None:
        return None
    encoding = _text(root, "EncodingType")
    parts = [
        Part(
            partNumber=_int(node, "PartNumber"),
            lastModified=parse_timestamp(_text(node, "LastModified")),
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
