"""ObsClient: the SDK's call shape for the multipart calls a janitor needs, on ``requests``.

``ObsClient(access_key_id, secret_access_key, server, ...)`` and
``abortMultipartUpload(bucketName, objectKey, uploadId)`` behave as in esdk-obs-python:
same request on the wire, same GetResult. Validation is the handler's job; the client
sends what it is given, exactly encoded, with two exceptions that guard data: it never
sends a call that names no object where one is meant (an empty key or uploadId, a
DELETE or PUT of the bucket itself), and it scrubs its credentials out of every result
and exception it hands back.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from handler.obs import redact
from handler.obs.credentials import Credentials
from handler.obs.errors import ObsTransportError
from handler.obs.model import GetResult, PutContentResponse
from handler.obs.response import BodyParser, to_get_result
from handler.obs.signer import (
    OBS_SIGNATURE,
    V2_SIGNATURE,
    RequestSigner,
    SignatureScheme,
    encode_object_key,
    encode_query_value,
    signing_key,
)
from handler.obs.transport import RetryPolicy, Transport, new_session

if TYPE_CHECKING:
    from handler.obs.redact import Redactor

USER_AGENT = "obs-mpu-janitor/1.0"
QueryParams = Sequence[tuple[str, "str | None"]]

# The errorCode of a call the client refused to send (see ``refused``).
REFUSED_ERROR_CODE = "MissingArgument"
# Content types by extension for putContent, as the SDK's MIME table gives them for the
# files a janitor writes; other keys go as the SDK sends them, without a Content-Type.
CONTENT_TYPES = {
    "html": "text/html", "htm": "text/html", "json": "application/json",
    "png": "image/png", "svg": "image/svg+xml", "txt": "text/plain", "csv": "text/csv",
    "xml": "application/xml", "gz": "application/x-gzip",
}
# putContent's ``headers`` (the SDK's PutObjectHeader names) and the header each sets.
# Only these: the others (acl, storageClass, sse...) need the SDK's per-scheme value
# mapping, and a janitor writing its report needs none of them.
_PUT_HEADERS = {"contentType": "Content-Type", "md5": "Content-MD5"}


def refused(call: str, missing: str, detail: str = "") -> GetResult:
    """A janitor-made 400 for a call that was not sent because ``missing`` is empty.

    Shaped like the handler's other local results (requestId None tells it from an OBS
    answer); errorCode ``MissingArgument`` so that no report mistakes it for OBS's own
    InvalidArgument.
    """
    message = f"{call}: {missing} is empty; no request was sent"
    return GetResult(
        status=400, reason="Bad Request", errorCode=REFUSED_ERROR_CODE,
        errorMessage=message + (f" ({detail})" if detail else ""),
    )


def _copy_headers(headers: CaseInsensitiveDict[str]) -> CaseInsensitiveDict[str]:
    """A copy of requests' case-insensitive headers made by copying its store:
    ``CaseInsensitiveDict.copy`` would insert every header again, one call each."""
    copy: CaseInsensitiveDict[str] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    copy._store = headers._store.copy()  # type: ignore[attr-defined]
    return copy


def _blank(value: object) -> bool:
    return not isinstance(value, str) or value == ""


def _is_ip_or_loopback_name(host: str) -> bool:
    # The SDK forces path-style for IPv4 literals; "localhost" joins them here because
    # "bucket.localhost" resolves nowhere useful (a deliberate difference, see README).
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def render_query(params: QueryParams) -> str:
    """The SDK's query string: bare sub-resources first, then ``name=value`` pairs."""
    bare = [encode_query_value(name) for name, value in params if value is None]
    valued = [
        f"{encode_query_value(name)}={encode_query_value(value)}"
        for name, value in params
        if value is not None
    ]
    return "&".join(bare + valued)


def extension_headers(
    extra: Mapping[str, Any] | None, scheme: SignatureScheme
) -> dict[str, str]:
    """The SDK's treatment of ``extensionHeaders`` (docs/obs.md §9).

    Friendly names map to their prefixed header, values are percent-encoded the SDK's way,
    and blank values are dropped. Unlike the SDK, the friendly name itself is not also sent
    as a raw header, and a caller cannot set Host.
    """
    aliases = {
        "requesterPayer": scheme.header_prefix + "request-payer",
        "locationClusterGroupId": scheme.header_prefix + "location-clustergroup-id",
    }
    headers: dict[str, str] = {}
    for name, value in (extra or {}).items():
        if value is None or str(value).strip() == "" or name.lower() == "host":
            continue
        headers[aliases.get(name, name)] = quote(str(value), safe=" ;/?:@&=+$,'*")
    return headers


class ObsClient:
    """A boto-free OBS client for the multipart calls (a drop-in for the SDK's).

    One pooled ``requests.Session`` per client, safe to share between threads; every
    HTTP response becomes a GetResult, and only a missing response raises
    (``ObsTransportError``).
    """

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        server: str,
        security_token: str | None = None,
        path_style: bool = False,
        signature: str | None = None,
        timeout: float = 60,
        max_retry_count: int = 3,
        *,
        pool_size: int = 16,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        extra_secrets: Iterable[str | None] = (),
    ) -> None:
        self.credentials = Credentials.of(access_key_id, secret_access_key, security_token)
        self._signing_key = signing_key(self.credentials.secret_access_key)
        # Every secret this client knows, plus the caller's (the IAM token): masked in
        # all it returns or raises, and registered for the module-level redact.scrub.
        self._redactor = redact.register(
            (self.credentials.secret_access_key, self.credentials.security_token,
             *extra_secrets)
        )
        parts = urlsplit(server.strip() if "://" in server else "https://" + server.strip())
        if not parts.hostname:
            shown = self._redactor.scrub_exception_text(server)
            raise ValueError(f"server {shown!r} names no host")
        self.scheme = parts.scheme
        self.host = parts.netloc.rpartition("@")[2].rstrip("/")
        self.path_style = path_style or _is_ip_or_loopback_name(parts.hostname)
        if signature is None:
            signature = "v2" if self.path_style else "obs"
        if signature.lower() not in ("obs", "v2"):
            raise ValueError("signature must be 'obs' or 'v2'")
        self.signature = OBS_SIGNATURE if signature.lower() == "obs" else V2_SIGNATURE
        self.clock = clock
        # Seconds to add to our clock, learnt from a RequestTimeTooSkewed answer.
        self.clock_offset = 0.0
        self.session = session or new_session(pool_size=pool_size)
        # Learnt by the listing pager (handler/obs/paging.py): does this server say when it
        # URL-encodes keys? None until a listing has shown it.
        self.echoes_url_encoding: bool | None = None
        self.transport = Transport(
            self.session,
            endpoint=f"{self.scheme}://{self.host}",
            timeout=timeout,
            retry=RetryPolicy(max_retry_count=max_retry_count),
            sleep=sleep,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return f"ObsClient(server={self.scheme}://{self.host!s}, {self.credentials!r})"

    @property
    def redactor(self) -> Redactor:
        """Masks this client's secrets (and ``extra_secrets``) in any text, e.g. a log line."""
        return self._redactor

    def close(self) -> None:
        self.session.close()

    # -- the SDK's calls -------------------------------------------------------------

    def abortMultipartUpload(  # noqa: N802 - the SDK's name
        self,
        bucketName: str,  # noqa: N803
        objectKey: str,  # noqa: N803
        uploadId: str,  # noqa: N803
        extensionHeaders: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        deadline: float | None = None,
    ) -> GetResult:
        """``DELETE /{key}?uploadId=…``; 204 on success, body None.

        An empty or missing key or uploadId is refused (a 400 GetResult, nothing sent):
        without the key the DELETE addresses the bucket, without the uploadId the object.
        """
        for name, value in (("objectKey", objectKey), ("uploadId", uploadId)):
            if _blank(value) or (name == "uploadId" and not value.strip()):
                return refused("abortMultipartUpload", name)
        return self.request(
            "DELETE", bucketName, objectKey, [("uploadId", uploadId)],
            extra_headers=extensionHeaders, deadline=deadline,
        )

    def listMultipartUploads(  # noqa: N802 - the SDK's name
        self,
        bucketName: str,  # noqa: N803
        prefix: str | None = None,
        delimiter: str | None = None,
        max_uploads: int | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        encoding_type: str | None = None,
        *,
        extensionHeaders: Mapping[str, Any] | None = None,  # noqa: N803
        deadline: float | None = None,
    ) -> GetResult:
        """``GET /?uploads`` (docs/obs.md §4.3); body is a ListMultipartUploadsResponse."""
        from handler.obs.xmlparse import parse_list_uploads  # listings only: keep aborts light

        optional = [
            ("encoding-type", encoding_type), ("delimiter", delimiter), ("prefix", prefix),
            ("max-uploads", max_uploads), ("key-marker", key_marker),
            ("upload-id-marker", upload_id_marker),
        ]
        # As the SDK does, absent and blank values are left out of the query.
        query: list[tuple[str, str | None]] = [("uploads", None)]
        query += [(name, str(v)) for name, v in optional if v is not None and str(v).strip()]
        return self.request(
            "GET", bucketName, None, query, parse_body=parse_list_uploads,
            extra_headers=extensionHeaders, deadline=deadline,
        )

    def listParts(  # noqa: N802 - the SDK's name
        self,
        bucketName: str,  # noqa: N803
        objectKey: str,  # noqa: N803
        uploadId: str,  # noqa: N803
        max_parts: int | None = None,
        part_number_marker: int | None = None,
        encoding_type: str | None = None,
        *,
        extensionHeaders: Mapping[str, Any] | None = None,  # noqa: N803
        deadline: float | None = None,
    ) -> GetResult:
        """``GET /{key}?uploadId=…`` (ListParts); body is a ListPartsResponse.

        Refused like abortMultipartUpload when the key or uploadId is empty.
        """
        from handler.obs.xmlparse import parse_list_parts

        for name, value in (("objectKey", objectKey), ("uploadId", uploadId)):
            if _blank(value) or (name == "uploadId" and not value.strip()):
                return refused("listParts", name)

        query: list[tuple[str, str | None]] = [("uploadId", uploadId)]
        optional = [
            ("max-parts", max_parts), ("part-number-marker", part_number_marker),
            ("encoding-type", encoding_type),
        ]
        query += [(name, str(v)) for name, v in optional if v is not None]
        return self.request(
            "GET", bucketName, objectKey, query, parse_body=parse_list_parts,
            extra_headers=extensionHeaders, deadline=deadline,
        )

    def getBucketLifecycle(  # noqa: N802 - the SDK's name
        self,
        bucketName: str,  # noqa: N803
        extensionHeaders: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        deadline: float | None = None,
    ) -> GetResult:
        """``GET /?lifecycle``; body is a LifecycleResponse (``lifecycleConfig.rule``).

        A bucket without rules answers 404 NoSuchLifecycleConfiguration, as with the SDK;
        ``handler.obs.lifecycle.configuration_of(result)`` reads that as "no rules".
        """
        from handler.obs.lifecycle import parse_lifecycle

        return self.request(
            "GET", bucketName, None, [("lifecycle", None)], parse_body=parse_lifecycle,
            extra_headers=extensionHeaders, deadline=deadline,
        )

    def putContent(  # noqa: N802 - the SDK's name
        self,
        bucketName: str,  # noqa: N803
        objectKey: str,  # noqa: N803
        content: str | bytes | Any = None,
        metadata: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        progressCallback: Callable[[int, int, float], Any] | None = None,  # noqa: N803
        autoClose: bool = True,  # noqa: N803
        extensionHeaders: Mapping[str, Any] | None = None,  # noqa: N803
        *,
        deadline: float | None = None,
    ) -> GetResult:
        """``PUT /{key}`` with ``content`` (str as UTF-8, bytes, or a file object, read
        whole); body is a PutContentResponse (etag, versionId, storageClass, objectUrl).

        As the SDK: ``metadata`` names gain ``x-obs-meta-`` (``x-amz-meta-`` with V2),
        ``headers`` takes the PutObjectHeader names contentType and md5 (others raise
        ValueError rather than be ignored), and Content-Type defaults from the key's
        extension. Unlike the SDK, a Content-MD5 is always sent (computed when ``headers``
        has none) so that OBS rejects a body damaged on the way, and an empty key is
        refused, not sent as a PUT of the bucket itself (which would be CreateBucket).
        """
        if _blank(objectKey):
            return refused("putContent", "objectKey")
        started = time.monotonic()
        body = self._read_content(content, autoClose)
        options = dict(headers or {})
        unknown = sorted(set(options) - set(_PUT_HEADERS) - {"contentLength"})
        if unknown:
            raise ValueError(f"putContent headers not supported: {', '.join(unknown)}")
        if options.get("contentType") is None:
            options["contentType"] = CONTENT_TYPES.get(objectKey.rpartition(".")[2].lower())
        if options.get("md5") is None:
            options["md5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
        sent: dict[str, Any] = {}
        for raw_name, value in (metadata or {}).items():
            name = str(raw_name).strip()
            if value is None:
                continue
            if not name.lower().startswith(self.signature.header_prefix):
                name = self.signature.meta_prefix + name
            if name.lower().startswith(self.signature.meta_prefix):
                name = quote(name, safe=" ;/?:@&=+$,")  # the SDK's encoding of meta names
            sent[name] = value
        for option, header in _PUT_HEADERS.items():
            if options.get(option) is not None:
                sent[header] = options[option]
        result = self.request(
            "PUT", bucketName, objectKey, [], body=body,
            extra_headers={**sent, **(extensionHeaders or {})}, deadline=deadline,
        )
        if progressCallback is not None:
            progressCallback(len(body), len(body), time.monotonic() - started)
        if not result.ok:
            return result
        found = dict(result.header or ())
        return replace(result, body=PutContentResponse(
            storageClass=found.get("storage-class"), etag=found.get("etag"),
            versionId=found.get("version-id"), objectUrl=self.url(bucketName, objectKey, []),
        ))

    @staticmethod
    def _read_content(content: Any, auto_close: bool) -> bytes:
        if content is None:
            return b""
        if isinstance(content, str):
            return content.encode("utf-8")
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content)
        read = getattr(content, "read", None)
        if not callable(read):
            raise TypeError(f"putContent content must be str, bytes or a file, not "
                            f"{type(content).__name__}")
        try:
            data = read()
        finally:
            if auto_close and callable(getattr(content, "close", None)):
                content.close()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    # -- the machinery ---------------------------------------------------------------

    def url(self, bucket: str, key: str | None, query: QueryParams) -> str:
        """The exact URL sent: virtual-host ``bucket.host/key``, path-style ``host/bucket/key``."""
        if self.path_style:
            path = f"/{bucket}/{encode_object_key(key)}" if key else f"/{bucket}"
            host = self.host
        else:
            path = "/" + encode_object_key(key) if key is not None else "/"
            host = f"{bucket}.{self.host}"
        rendered = render_query(query)
        return f"{self.scheme}://{host}{path}" + (f"?{rendered}" if rendered else "")

    def request(
        self,
        method: str,
        bucket: str,
        key: str | None,
        query: QueryParams,
        *,
        parse_body: BodyParser | None = None,
        extra_headers: Mapping[str, Any] | None = None,
        deadline: float | None = None,
        body: bytes | None = None,
    ) -> GetResult:
        if method in ("DELETE", "PUT") and not key and not any(
            value is None for _, value in query
        ):
            # A DELETE or PUT with no key and no sub-resource addresses the bucket itself
            # (DeleteBucket, CreateBucket): never what a janitor means.
            return refused(f"{method} request", "objectKey", "it would address the bucket")
        url = self.url(bucket, key, query)
        sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
                **extension_headers(extra_headers, self.signature)}
        if body is not None:
            sent["Content-Length"] = str(len(body))
        # What ObsAuth would sign, worked out once (from the plain dict: the same items,
        # read without the case-insensitive wrapper): an attempt only adds its Date.
        signer = RequestSigner(
            self.credentials, scheme=self.signature, bucket=bucket,
            path_style=self.path_style, clock=self._signing_time, method=method, url=url,
            headers=sent, key=self._signing_key,
        )
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(sent)

        def prepare() -> requests.PreparedRequest:
            # Built by hand, not with Request.prepare(): preparing a URL removes "." and
            # ".." segments, and a tidied path names another object (docs/obs.md §9).
            prepared = requests.PreparedRequest()
            prepared.method = method
            prepared.url = url
            prepared.headers = _copy_headers(headers)
            prepared.body = body
            signer.sign(prepared.headers)
            return prepared

        response = self._send(prepare, deadline)
        result = to_get_result(response, parse_body, self._redactor)
        if result.errorCode == "RequestTimeTooSkewed" and self._learn_offset(response):
            # As botocore does: correct the clock from the server's Date, retry once.
            result = to_get_result(self._send(prepare, deadline), parse_body, self._redactor)
        return result

    def _send(
        self, prepare: Callable[[], requests.PreparedRequest], deadline: float | None
    ) -> requests.Response:
        try:
            return self.transport.send(prepare, deadline=deadline)
        except ObsTransportError as exc:
            raise exc.redact(self._redactor) from None

    def _signing_time(self) -> float:
        return self.clock() + self.clock_offset

    def _learn_offset(self, response: requests.Response) -> bool:
        """Adopt the server's clock from its Date header; False if that changes nothing
        (or the Date is missing, zoneless or absurd: then the answer stands)."""
        from handler.obs.dates import parse_http_date

        server = parse_http_date(response.headers.get("Date"))
        if server is None:
            return False
        offset = server.timestamp() - self.clock()
        if abs(offset - self.clock_offset) < 1.0:
            return False
        self.clock_offset = offset
        return True
