"""Pagers over ListMultipartUploads and ListParts: one page in memory at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.obs.errors import ListingFailedError, ListingStuckError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from handler.obs.client import ObsClient
    from handler.obs.model import GetResult, ListMultipartUploadsResponse, ListPartsResponse

MAX_PAGE = 1000


def iter_upload_pages(
    client: ObsClient,
    bucket: str,
    prefix: str | None = None,
    *,
    key_marker: str | None = None,
    upload_id_marker: str | None = None,
    page_size: int = MAX_PAGE,
    deadline: float | None = None,
    delimiter: str | None = None,
) -> Iterator[GetResult]:
    """Yield each ListMultipartUploads page (a 2xx GetResult) until the listing ends.

    With a ``delimiter``, pages hold only the uploads directly under the prefix, and the
    deeper "folders" as common prefixes (the fan-out planner's shards).

    Always asks for ``encoding-type=url`` so that keys with control characters survive
    the XML (peer-tools §2.5). Raises ListingFailedError on an error status and
    ListingStuckError when a truncated page does not move the markers on.
    """
    while True:
        result = client.listMultipartUploads(
            bucket, prefix=prefix, delimiter=delimiter, max_uploads=min(page_size, MAX_PAGE),
            key_marker=key_marker, upload_id_marker=upload_id_marker, encoding_type="url",
            deadline=deadline,
        )
        page: ListMultipartUploadsResponse | None = result.body
        if not result.ok or page is None:
            raise ListingFailedError(bucket, result)
        following = (page.nextKeyMarker, page.nextUploadIdMarker)
        repeated = key_marker is not None and following == (key_marker, upload_id_marker)
        if page.isTruncated and repeated:
            # The page repeats the one before it: yielding it would hand the same uploads
            # out twice, and asking again would loop forever (peer-tools §2.3, s3cmd #1360).
            raise ListingStuckError(bucket, key_marker, page.nextKeyMarker)
        yield result
        if not page.isTruncated:
            return
        if not page.nextKeyMarker:
            raise ListingStuckError(bucket, key_marker, page.nextKeyMarker)
        key_marker, upload_id_marker = following


def iter_part_pages(
    client: ObsClient,
    bucket: str,
    key: str,
    upload_id: str,
    *,
    page_size: int = MAX_PAGE,
    deadline: float | None = None,
) -> Iterator[GetResult]:
    """Yield each ListParts page of one upload; a 404 NoSuchUpload page is yielded as is.

    The caller decides what a missing upload means (for a sweep: already gone).
    """
    marker: int | None = None
    while True:
        result = client.listParts(
            bucket, key, upload_id, max_parts=min(page_size, MAX_PAGE),
            part_number_marker=marker, encoding_type="url", deadline=deadline,
        )
        page: ListPartsResponse | None = result.body
        if not result.ok or page is None:
            if result.status == 404:
                yield result
                return
            raise ListingFailedError(bucket, result)
        yield result
        if not page.isTruncated:
            return
        next_marker = page.nextPartNumberMarker
        if next_marker is None or (marker is not None and next_marker <= marker):
            raise ListingStuckError(bucket, str(marker), str(next_marker))
        marker = next_marker
