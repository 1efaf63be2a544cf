"""Pagers over ListMultipartUploads and ListParts: one page in memory at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.obs.errors import ListingFailedError, ListingStuckError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from handler.obs.client import ObsClient
    from handler.obs.listings import ListMultipartUploadsResponse, ListPartsResponse
    from handler.obs.model import GetResult

MAX_PAGE = 1000

class ListingPageError(ListingFailedError):
    """A listing page that could not be used: names the bucket, the page, what was wrong."""

    def __init__(self, bucket: str, result: GetResult, page: int, where: str, what: str,
                 problem: str) -> None:
        super().__init__(bucket, result)
        self.page = page
        self.problem = problem
        self.args = (f"{what} of bucket {bucket!r} failed on page {page}{where}: {problem}",)


def _problem(result: GetResult) -> str:
    """What was wrong with a page, in words, without echoing anything secret."""
    if not result.ok:
        code = result.errorCode or "no error code"
        message = f" ({result.errorMessage})" if result.errorMessage else ""
        return f"status {result.status}, {code}{message}"
    from handler.obs.xmlparse import last_problem

    return f"status {result.status} but the reply is unusable: {last_problem() or 'an empty body'}"




def _reads_the_same_decoded(page: ListMultipartUploadsResponse) -> bool:
    """Whether URL-decoding would change none of the page's names.

    Whatever characters a server chooses to encode, URL-encoding changes a character only
    by writing it as ``%XX`` (a space perhaps as ``+``), so an encoded name without ``%``
    or ``+`` is the raw name itself, and decoding a raw name without them changes nothing:
    encoded or raw, such a page means the same keys and the same next marker.
    """
    names = [upload.key for upload in page.upload]
    names += [common.prefix for common in page.commonPrefixs if common.prefix]
    if page.nextKeyMarker:
        names.append(page.nextKeyMarker)
    return not any("%" in name or "+" in name for name in names)


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

    Asks for ``encoding-type=url``, so that keys with control characters survive the XML,
    and trusts the keys' encoding only when the reply echoes ``<EncodingType>url`` (OBS
    and S3 do). A reply without it may hold encoded keys (Ceph RGW encodes silently) or
    raw ones (moto ignores the parameter): the two cannot be told apart from a key such
    as ``a%20b``, so the same page is asked again without encoding-type, which every
    server answers with raw keys, and so is every later listing through this client: the
    client remembers the server's answer (one more request per client on such servers,
    none on OBS). A page whose names read the same either way is used as it came, not
    asked again (``_reads_the_same_decoded``). Keys
    with characters XML 1.0 forbids are recovered by the parser (handler/obs/xmlparse.py).

    Raises ListingFailedError (a ListingPageError naming the page and the problem) on an
    error status or an unreadable page, and ListingStuckError when a truncated page does
    not move the markers on.
    """
    from handler.obs.xmlparse import clear_problem  # listings only: keep aborts light

    number = 0
    ask_url = client.echoes_url_encoding is not False
    while True:
        number += 1
        clear_problem()
        result = client.listMultipartUploads(
            bucket, prefix=prefix, delimiter=delimiter, max_uploads=min(page_size, MAX_PAGE),
            key_marker=key_marker, upload_id_marker=upload_id_marker,
            encoding_type="url" if ask_url else None, deadline=deadline,
        )
        page: ListMultipartUploadsResponse | None = result.body
        if ask_url and result.ok and page is not None:
            client.echoes_url_encoding = page.encoding_type == "url"
        if ask_url and result.ok and page is not None and page.encoding_type != "url":
            ask_url = False  # the rest of the listing is asked raw
            if not _reads_the_same_decoded(page):
                result = client.listMultipartUploads(
                    bucket, prefix=prefix, delimiter=delimiter,
                    max_uploads=min(page_size, MAX_PAGE), key_marker=key_marker,
                    upload_id_marker=upload_id_marker, deadline=deadline,
                )
                page = result.body
        if not result.ok or page is None:
            after = f" (after key marker {key_marker!r})" if key_marker else ""
            raise ListingPageError(bucket, result, number, after, "listing uploads",
                                   _problem(result))
        following = (page.nextKeyMarker, page.nextUploadIdMarker)
        repeated = key_marker is not None and following == (key_marker, upload_id_marker)
        if page.isTruncated and repeated:
            # The page repeats the one before it: yielding it would hand the same uploads
            # out twice, and asking again would loop forever (docs/peers.md §2.3, https://github.com/s3tools/s3cmd/issues/1360).
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

    The caller decides what a missing upload means (for a sweep: already gone). The
    caller knows the key, so the reply's Key is decoded only if EncodingType says so.
    """
    from handler.obs.xmlparse import clear_problem

    marker: int | None = None
    number = 0
    while True:
        number += 1
        clear_problem()
        result = client.listParts(
            bucket, key, upload_id, max_parts=min(page_size, MAX_PAGE),
            part_number_marker=marker, encoding_type="url", deadline=deadline,
        )
        page: ListPartsResponse | None = result.body
        if not result.ok or page is None:
            if result.status == 404:
                yield result
                return
            raise ListingPageError(bucket, result, number,
                                   f" (key {key!r}, upload {upload_id!r})", "listing parts",
                                   _problem(result))
        yield result
        if not page.isTruncated:
            return
        next_marker = page.nextPartNumberMarker
        if next_marker is None or (marker is not None and next_marker <= marker):
            raise ListingStuckError(bucket, str(marker), str(next_marker))
        marker = next_marker
