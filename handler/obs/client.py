"""ObsClient: the SDK's call shape for the multipart calls a janitor needs, on ``requests``.

``ObsClient(access_key_id, secret_access_key, server, ...)`` and
``abortMultipartUpload(bucketName, objectKey, uploadId)`` behave as in esdk-obs-python
(reference §5 and §9): same request on the wire, same GetResult. Validation is the
handler's job; the client sends what it is given, exactly encoded.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from handler.obs.credentials import Credentials
from handler.obs.response import BodyParser, to_get_result
from handler.obs.signer import (
    OBS_SIGNATURE,
    V2_SIGNATURE,
    ObsAuth,
    SignatureScheme,
    encode_object_key,
    encode_query_value,
)
from handler.obs.transport import RetryPolicy, Transport, new_session

if TYPE_CHECKING:
    from handler.obs.model import GetResult

USER_AGENT = "obs-mpu-janitor/1.0"
QueryParams = Sequence[tuple[str, "str | None"]]


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
    bare = [quote(name, safe="/") for name, value in params if value is None]
    valued = [
        f"{quote(name, safe='/')}={encode_query_value(value)}"
        for name, value in params
        if value is not None
    ]
    return "&".join(bare + valued)


def extension_headers(
    extra: Mapping[str, Any] | None, scheme: SignatureScheme
) -> dict[str, str]:
    """The SDK's treatment of ``extensionHeaders`` (reference §9).

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
        trust_env: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        self.credentials = Credentials.of(access_key_id, secret_access_key, security_token)
        parts = urlsplit(server.strip() if "://" in server else "https://" + server.strip())
        if not parts.hostname:
            raise ValueError(f"server {server!r} names no host")
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
        self.session = session or new_session(pool_size=pool_size, trust_env=trust_env)
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
        """``DELETE /{key}?uploadId=…`` (reference §4.2); 204 on success, body None."""
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
        """``GET /?uploads`` (reference §4.3); body is a ListMultipartUploadsResponse."""
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
        """``GET /{key}?uploadId=…`` (ListParts); body is a ListPartsResponse."""
        from handler.obs.xmlparse import parse_list_parts

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
    ) -> GetResult:
        url = self.url(bucket, key, query)
        headers = extension_headers(extra_headers, self.signature)
        auth = ObsAuth(
            self.credentials, scheme=self.signature, bucket=bucket,
            path_style=self.path_style, clock=self._signing_time,
        )

        def prepare() -> requests.PreparedRequest:
            # Built by hand, not with Request.prepare(): preparing a URL removes "." and
            # ".." segments, and a tidied path names another object (reference §9).
            prepared = requests.PreparedRequest()
            prepared.method = method
            prepared.url = url
            prepared.headers = CaseInsensitiveDict(
                {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
            )
            prepared.body = None
            return auth(prepared)

        response = self.transport.send(prepare, deadline=deadline)
        result = to_get_result(response, parse_body)
        if result.errorCode == "RequestTimeTooSkewed" and self._learn_offset(response):
            # As botocore does: correct the clock from the server's Date, retry once.
            result = to_get_result(self.transport.send(prepare, deadline=deadline), parse_body)
        return result

    def _signing_time(self) -> float:
        return self.clock() + self.clock_offset

    def _learn_offset(self, response: requests.Response) -> bool:
        """Adopt the server's clock from its Date header; False if that changes nothing."""
        from email.utils import parsedate_to_datetime

        try:
            server = parsedate_to_datetime(response.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return False
        offset = server - self.clock()
        if abs(offset - self.clock_offset) < 1.0:
            return False
        self.clock_offset = offset
        return True
