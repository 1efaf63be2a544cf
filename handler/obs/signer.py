"""OBS / S3-V2 header signing as small pure functions, plus a ``requests`` auth hook.

Every rule here is docs/obs.md §5; the official SDK's
``auth.py`` was the oracle for the corner cases, and the conformance tests hold us to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from requests.auth import AuthBase

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, MutableMapping

    from requests import PreparedRequest

    from handler.obs.credentials import Credentials


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    """The two header-signature dialects OBS accepts (docs/obs.md §5.1 and §5.8)."""

    name: str
    auth_prefix: str
    header_prefix: str

    @property
    def meta_prefix(self) -> str:
        return self.header_prefix + "meta-"

    @property
    def date_header(self) -> str:
        return self.header_prefix + "date"

    @property
    def security_token_header(self) -> str:
        return self.header_prefix + "security-token"


OBS_SIGNATURE = SignatureScheme(name="obs", auth_prefix="OBS", header_prefix="x-obs-")
V2_SIGNATURE = SignatureScheme(name="v2", auth_prefix="AWS", header_prefix="x-amz-")

# Query parameters that belong to the signed resource (docs/obs.md §5.3; the SDK's
# ALLOWED_RESOURCE_PARAMTER_NAMES, compared case-insensitively). Ordinary listing
# parameters such as prefix or key-marker are deliberately absent.
SUB_RESOURCES = frozenset(
    """acl backtosource policy torrent logging location storageinfo quota storageclass
    storagepolicy requestpayment versions versioning versionid uploads uploadid partnumber
    website notification dispolicy lifecycle deletebucket delete cors restore tagging
    replication metadata encryption publicaccessblock bucketstatus policystatus
    x-obs-accesslabel inventory obscompresspolicy object-lock retention directcoldaccess
    append position truncate modify rename length name fileinterface response-content-type
    response-content-language response-expires response-cache-control
    response-content-disposition response-content-encoding x-image-save-bucket
    x-image-save-object x-image-process x-oss-process x-workflow-prefix x-workflow-start
    x-workflow-limit x-workflow-template-name x-workflow-graph-name
    x-workflow-execution-state x-workflow-execution-type x-workflow-next-marker
    obsworkflowtriggerpolicy obsbucketalias obsalias""".split()
)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_last_date: tuple[int, str] = (-1, "")


def http_date(epoch_seconds: float) -> str:
    """RFC 1123 date in GMT, independent of the process locale (docs/obs.md §5.1).

    English names from tables rather than strftime's %a/%b, which follow the locale; and
    not email.utils, whose import alone costs milliseconds of cold start.
    """
    global _last_date
    second = int(epoch_seconds)
    cached = _last_date  # one read: another thread may replace it meanwhile
    if cached[0] != second:
        t = time.gmtime(second)
        text = (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
        cached = (second, text)  # formatting costs more than signing: once a second
        _last_date = cached
    return cached[1]


# What quote() leaves as it is with either safe set below: letters, digits, "_.-~" (always
# safe) and "/". A text made only of these is its own encoding, found without quote().
_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*").fullmatch


def encode_object_key(key: str) -> str:
    """Percent-encode a key as the SDK does: UTF-8, ``/`` and ``~`` kept (docs/obs.md §5.4)."""
    return key if _PLAIN(key) else quote(key, safe="/~")


def encode_query_value(value: str) -> str:
    """Percent-encode a query value as the SDK does: only ``/`` kept (docs/obs.md §5.4)."""
    return value if _PLAIN(value) else quote(value, safe="/")


def canonical_headers(headers: Mapping[str, str], scheme: SignatureScheme) -> str:
    """The sorted ``name:value\\n`` lines of the scheme's own headers (docs/obs.md §5.2).

    Names are lower-cased; only metadata values are trimmed, as the SDK trims them.
    """
    selected: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(scheme.header_prefix):
            selected[lowered] = value.strip() if lowered.startswith(scheme.meta_prefix) else value
    return "".join(f"{name}:{selected[name]}\n" for name in sorted(selected))


def canonical_resource(
    *, bucket: str, path: str, query: str, path_style: bool, scheme: SignatureScheme
) -> str:
    """``/bucket/encoded-key`` plus the sorted sub-resources (docs/obs.md §5.3).

    ``path`` and ``query`` are exactly what goes on the wire, so the signature covers the
    request that is sent. Virtual-host paths omit the bucket, hence it is prepended;
    sub-resource values are signed decoded, as the SDK signs them.
    """
    resource = f"/{bucket}{path}" if bucket and not path_style else path
    signed: list[tuple[str, str | None]] = []
    for pair in query.split("&") if query else ():
        name, sep, value = pair.partition("=")
        name = unquote(name)
        lowered = name.lower()
        if lowered in SUB_RESOURCES or lowered.startswith(scheme.header_prefix):
            signed.append((name, unquote(value) if sep else None))
    if not signed:
        return resource
    signed.sort(key=lambda item: item[0])
    rendered = (name if value is None else f"{name}={value}" for name, value in signed)
    return resource + "?" + "&".join(rendered)


def string_to_sign(
    *, method: str, headers: Mapping[str, str], resource: str, scheme: SignatureScheme
) -> str:
    """VERB, Content-MD5, Content-Type, Date, canonical headers, resource (docs/obs.md §5.1).

    The Date line is empty when the scheme's own date header is sent (docs/obs.md §5.6).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    date = "" if scheme.date_header in lowered else lowered.get("date", "")
    head, tail = around_date(method=method, lowered=lowered, resource=resource, scheme=scheme)
    return head + date + tail


def around_date(
    *, method: str, lowered: Mapping[str, str], resource: str, scheme: SignatureScheme
) -> tuple[str, str]:
    """The string to sign without its Date line's value: the text before it and after it.

    One home for the layout, for ``string_to_sign`` and for RequestSigner, which adds
    each attempt's Date between the two. ``lowered`` holds the headers by lowercase name.
    """
    return (f"{method}\n{lowered.get('content-md5', '')}\n{lowered.get('content-type', '')}\n",
            f"\n{canonical_headers(lowered, scheme)}{resource}")


def path_and_query(url: str) -> tuple[str, str]:
    """The request target of an absolute URL, split at the first ``?``, exactly as written.

    Cheaper than urlsplit, and it cannot tidy anything: what is signed is what is sent.
    """
    after_scheme = url.find("://") + 3
    slash = url.find("/", after_scheme)
    target = url[slash:] if slash != -1 else "/"
    path, _, query = target.partition("?")
    return path, query


def signature(secret_access_key: str, text: str) -> str:
    """Base64 of HMAC-SHA1 over the UTF-8 string to sign (docs/obs.md §5.1)."""
    return _signature(signing_key(secret_access_key), text)


def signing_key(secret_access_key: str) -> hmac.HMAC:
    """The HMAC-SHA1 keyed with the secret, for ``copy()``: keying it again per signature
    would hash the key's pads again each time."""
    return hmac.new(secret_access_key.encode(), digestmod=hashlib.sha1)


def _signature(key: hmac.HMAC, text: str) -> str:
    mac = key.copy()
    mac.update(text.encode())
    return base64.b64encode(mac.digest()).decode()


def authorization(scheme: SignatureScheme, access_key_id: str, sig: str) -> str:
    """``OBS ak:signature`` or ``AWS ak:signature``."""
    return f"{scheme.auth_prefix} {access_key_id}:{sig}"


class RequestSigner:
    """The signature of one request, its every attempt with a fresh Date.

    Everything but the Date is fixed for a request (method, headers, URL), so the string
    to sign is worked out once, from the same functions and in the same order as always:
    the security token joins the headers, then the Date unless the scheme's own date
    header is sent, and the canonical headers and resource are taken from what is sent.
    ``sign`` then adds the token, the Date and Authorization to an attempt's headers.
    """

    __slots__ = ("_authorization_prefix", "_clock", "_head", "_key", "_needs_date", "_tail",
                 "_token")

    def __init__(
        self,
        credentials: Credentials,
        *,
        scheme: SignatureScheme,
        bucket: str,
        path_style: bool,
        clock: Callable[[], float],
        method: str,
        url: str,
        headers: Mapping[str, str],
        key: hmac.HMAC | None = None,
    ) -> None:
        self._token = None if not credentials.security_token else (
            scheme.security_token_header, credentials.security_token)
        sent = {name.lower(): value for name, value in headers.items()}
        if self._token is not None:
            sent[self._token[0]] = self._token[1]
        self._needs_date = scheme.date_header not in sent
        path, query = path_and_query(url)
        resource = canonical_resource(
            bucket=bucket, path=path, query=query, path_style=path_style, scheme=scheme
        )
        # The Date line is left open: this attempt's Date, or empty when the scheme's own
        # date header is sent (as string_to_sign decides).
        self._head, self._tail = around_date(method=method, lowered=sent, resource=resource,
                                             scheme=scheme)
        self._key = key or signing_key(credentials.secret_access_key)
        self._authorization_prefix = f"{scheme.auth_prefix} {credentials.access_key_id}:"
        self._clock = clock

    def sign(self, headers: MutableMapping[str, str]) -> None:
        if self._token is not None:
            headers[self._token[0]] = self._token[1]
        if self._needs_date:
            date = http_date(self._clock())
            headers["Date"] = date
            text = self._head + date + self._tail
        else:
            text = self._head + self._tail
        headers["Authorization"] = self._authorization_prefix + _signature(self._key, text)


class ObsAuth(AuthBase):
    """Signs a prepared request in place: Date, security token, then Authorization.

    The clock is injected so that tests can pin the Date; every retry calls the hook
    again, so every attempt carries a fresh Date and signature.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        scheme: SignatureScheme,
        bucket: str,
        path_style: bool,
        clock: Callable[[], float],
    ) -> None:
        self.credentials = credentials
        self.scheme = scheme
        self.bucket = bucket
        self.path_style = path_style
        self.clock = clock

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        RequestSigner(
            self.credentials, scheme=self.scheme, bucket=self.bucket,
            path_style=self.path_style, clock=self.clock, method=r.method or "GET",
            url=r.url or "", headers=r.headers,
        ).sign(r.headers)
        return r
