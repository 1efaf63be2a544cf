"""The bodies of the listing calls (ListMultipartUploads, ListParts), as the SDK names them.

Kept apart from GetResult (model.py) so that an abort does not pay for creating them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from handler.obs.model import _SdkModel

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True, slots=True)
class Initiator(_SdkModel):
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Owner(_SdkModel):
    owner_id: str | None = None
    owner_name: str | None = None


@dataclass(frozen=True, slots=True)
class CommonPrefix(_SdkModel):
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Upload(_SdkModel):
    """One in-progress multipart upload; ``initiated`` is an aware UTC datetime."""

    key: str
    uploadId: str
    initiator: Initiator = field(default_factory=Initiator)
    owner: Owner = field(default_factory=Owner)
    storageClass: str | None = None
    initiated: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListMultipartUploadsResponse(_SdkModel):
    bucket: str | None = None
    keyMarker: str | None = None
    uploadIdMarker: str | None = None
    nextKeyMarker: str | None = None
    nextUploadIdMarker: str | None = None
    maxUploads: int | None = None
    isTruncated: bool = False
    prefix: str | None = None
    delimiter: str | None = None
    upload: list[Upload] = field(default_factory=list)
    commonPrefixs: list[CommonPrefix] = field(default_factory=list)
    encoding_type: str | None = None


@dataclass(frozen=True, slots=True)
class Part(_SdkModel):
    partNumber: int | None = None
    lastModified: datetime | None = None
    etag: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class ListPartsResponse(_SdkModel):
    bucketName: str | None = None
    objectKey: str | None = None
    uploadId: str | None = None
    initiator: Initiator = field(default_factory=Initiator)
    owner: Owner = field(default_factory=Owner)
    storageClass: str | None = None
    partNumberMarker: int | None = None
    nextPartNumberMarker: int | None = None
    maxParts: int | None = None
    isTruncated: bool = False
    parts: list[Part] = field(default_factory=list)
    encoding_type: str | None = None
