"""Sending signed requests: one pooled Session, retries with backoff, a caller's deadline.

Retry rules follow the SDK (docs/obs.md §5.10: network errors and status >= 500, 4xx never)
with two changes: the backoff is exponential with jitter, and no sleep runs past the
caller's deadline. Redirects are never followed: a signature is bound to its host and path,
and the endpoint must come from configuration, not from a Location header.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.models import Response
from requests.utils import get_environ_proxies
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.util import Timeout

from handler.obs.connections import StdlibPool, WholeResponse, tls_context
from handler.obs.errors import ObsTransportError
from handler.obs.signer import path_and_query

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from requests import PreparedRequest
    from urllib3 import BaseHTTPResponse
    from urllib3.connectionpool import ConnectionPool

_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class LeanAdapter(HTTPAdapter):
    """``HTTPAdapter`` minus per-call work a signed OBS call does not need.

    ``send`` itself is untouched: every request still goes through requests' adapter and
    its hooks (and `responses`, which patches ``send``, sees it in tests). The hooks below
    each drop work measured in a profile of an abort (bench/RESULTS.md has the figures):

    - without a proxy or a client certificate (a janitor's case), the connections are
      ``http.client``'s, pooled by ``handler.obs.connections.StdlibPool`` instead of
      urllib3's pool: the SDK's own stack, about a third of an abort's instructions
      less (docs/obs.md). With a proxy or a client certificate, urllib3's pool and
      requests' own ``cert_verify``, as stock requests has them;
    - such a pool is looked up once per (origin, verify) instead of re-parsing the URL
      into a pool key on every call, and its TLS context (the CA bundle found and
      loaded) is built once per verify setting, not checked on every https call; a bad
      CA path still fails the first call;
    - the request target is the path as prepared (no proxy);
    - ``build_response`` keeps urllib3's case-insensitive headers instead of copying them
      into a second dict, skips cookie extraction (OBS sets no cookies) and reads the body
      in one ``read`` rather than through ``iter_content``'s generator of 10 KiB chunks.
      So this adapter never streams: it is for ``stream=False`` callers such as Transport.
    """

    def __init__(self, *, pool_connections: int = 10, pool_maxsize: int = 10,
                 **kwargs: Any) -> None:
        super().__init__(pool_connections=pool_connections, pool_maxsize=pool_maxsize,
                         **kwargs)
        # requests keeps its copies private.
        self.pool_connections = pool_connections
        self.pool_maxsize = pool_maxsize
        # Our pools by (origin, verify), least recently used first. Bounded as urllib3's
        # PoolManager bounds its own (pool_connections): each virtual-hosted bucket is an
        # origin, and a sweep over many buckets must not keep sockets for all of them.
        self._pools: OrderedDict[tuple[str, bool | str], StdlibPool] = OrderedDict()
        self._contexts: dict[bool | str, ssl.SSLContext] = {}  # one per TLS setting
        self._pools_lock = threading.Lock()

    def get_connection_with_tls_context(  # type: ignore[override]
        self, request: PreparedRequest, verify: bool | str | None,
        proxies: Mapping[str, str] | None = None, cert: Any = None,
    ) -> ConnectionPool | StdlibPool:
        # (HTTPAdapter.send uses what this returns only through urlopen, which StdlibPool
        # has with urllib3's signature.)
        if proxies or cert is not None:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        url = request.url or ""
        origin = url[: url.find("/", url.find("://") + 3) % (len(url) + 1)]
        key = (origin, verify if isinstance(verify, str) else bool(verify))
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._stdlib_pool(origin, key[1])
                self._pools[key] = pool
                while len(self._pools) > self.pool_connections:
                    _, dropped = self._pools.popitem(last=False)
                    dropped.close()  # its idle sockets; one in use closes when it is done
            else:
                self._pools.move_to_end(key)
        return pool

    def _stdlib_pool(self, origin: str, verify: bool | str) -> StdlibPool:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise requests.exceptions.InvalidURL(f"not an http(s) origin: {origin!r}")
        context = None
        if parts.scheme == "https":
            context = self._contexts.get(verify)
            if context is None:
                try:
                    context = self._contexts[verify] = tls_context(verify)
                except ssl.SSLError as exc:  # a CA file without a certificate in it
                    raise requests.exceptions.SSLError(exc) from exc
        # The port always given: http.client would read the last group of a bare IPv6
        # address (::1) as one.
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return StdlibPool(parts.scheme, parts.hostname, port, maxsize=self.pool_maxsize,
                          ssl_context=context)

    def cert_verify(self, conn: Any, url: str, verify: bool | str | None, cert: Any) -> None:
        if isinstance(conn, StdlibPool):
            return  # its TLS context was built from verify when the pool was made
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]

    def request_url(self, request: PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        if proxies:
            return str(super().request_url(request, proxies))
        path, query = path_and_query(request.url or "")
        return f"{path}?{query}" if query else path

    def close(self) -> None:
        super().close()
        with self._pools_lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()

    def build_response(self, req: PreparedRequest,
                       resp: BaseHTTPResponse | WholeResponse) -> Response:
        response = ReadResponse()
        response.status_code = resp.status
        # urllib3's HTTPHeaderDict, or from StdlibPool http.client's HTTPMessage: both are
        # case-insensitive already (``get``, ``in``, ``[]``; HTTPMessage gives None for a
        # missing name and the first of repeated ones), and a CaseInsensitiveDict copy
        # would be the second of two copies per response (GetResult makes its own).
        response.headers = resp.headers  # type: ignore[assignment]
        response.encoding = None
        response.raw = resp
        response.reason = resp.reason or ""
        response.url = req.url or ""
        response.request = req
        response.connection = self
        response._content = _read_body(resp, req)  # Response.content's own cache
        response._content_consumed = True
        return response


class ReadResponse(Response):
    """A ``Response`` whose cookie jar is made only if someone asks for it.

    ``Response()`` builds an empty ``RequestsCookieJar`` (a cookie policy, a lock) and an
    empty headers dict for every call, about 7 µs; OBS sets no cookies, and
    ``build_response``, the only place that makes one, sets the headers at once. Every
    other attribute ``Response`` has is there, with the value ``Response()`` gives it.
    """

    def __init__(self) -> None:  # Response.__init__ deliberately not called: see above
        self._content = False  # type: ignore[assignment]  # as Response() has it: not read yet
        self._content_consumed = False
        self._next = None
        self.status_code = None  # type: ignore[assignment]
        self.raw = None
        self.url = None  # type: ignore[assignment]
        self.encoding = None
        self.history = []
        self.reason = None  # type: ignore[assignment]
        self.elapsed = _NO_TIME
        self.request = None  # type: ignore[assignment]

    @property
    def cookies(self) -> RequestsCookieJar:
        jar = self.__dict__.get("cookies")
        if jar is None:
            jar = self.__dict__["cookies"] = RequestsCookieJar()  # cookiejar_from_dict({})
        return jar

    @cookies.setter
    def cookies(self, jar: RequestsCookieJar) -> None:
        self.__dict__["cookies"] = jar


_NO_TIME = timedelta(0)


def _read_body(resp: BaseHTTPResponse | WholeResponse, req: PreparedRequest) -> bytes:
    """The whole body, decoded as ``iter_content`` would, its errors mapped the same way."""
    try:
        return resp.read(decode_content=True)
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc, request=req) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc, request=req) from exc
    except ReadTimeoutError as exc:
        raise requests.ConnectionError(exc, request=req) from exc
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc, request=req) from exc


def new_session(*, pool_size: int) -> requests.Session:
    """A Session whose pool holds ``pool_size`` connections per host (one per worker).

    ``trust_env`` is off: reading proxy and netrc settings costs a lot per call
    (docs/obs.md §9) and a janitor's endpoint is configured, not discovered.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = LeanAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Up to ``max_retry_count`` retries; delay n is drawn from [d/2, d], d = base * 2**n."""

    max_retry_count: int = 3
    base_delay: float = 0.1
    max_delay: float = 5.0

    def delay(self, retry_number: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2**retry_number)
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


class Transport:
    """Sends a freshly prepared (and so freshly signed) request per attempt."""

    def __init__(
        self,
        session: requests.Session,
        *,
        endpoint: str,
        timeout: float,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.endpoint = endpoint
        # Sent straight through the adapter: Session.send would add hooks, cookie merging
        # and a redirect check to every call, none of which a signed OBS call wants.
        self.adapter = session.get_adapter(endpoint)
        self.proxies = {**get_environ_proxies(endpoint), **session.proxies} if (
            session.trust_env) else dict(session.proxies)
        self.verify: bool | str = session.verify if session.verify is not None else True
        self.timeout = timeout
        # One urllib3 Timeout for every attempt with the full timeout: requests would build
        # a new one from a float on each call.
        self._full_timeout = Timeout(connect=timeout, read=timeout)
        self.retry = retry
        self.sleep = sleep
        self.monotonic = monotonic
        self.rng = rng or random.Random()

    def send(
        self, prepare: Callable[[], PreparedRequest], *, deadline: float | None = None
    ) -> Response:
        """Return the last HTTP response; raise ObsTransportError if none ever arrived.

        ``deadline`` is a ``monotonic()`` instant: no attempt starts and no backoff sleeps
        past it.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                # requests takes a urllib3 Timeout as it is (HTTPAdapter.send); its stubs
                # only list floats and tuples.
                response = self.adapter.send(
                    prepare(), stream=False,
                    timeout=self._attempt_timeout(deadline),  # type: ignore[arg-type]
                    verify=self.verify, cert=self.session.cert, proxies=self.proxies,
                )
                _ = response.content  # read the body now, so a reset mid-body is retried
            except _RETRYABLE_EXCEPTIONS as exc:
                if not self._may_retry(attempt, deadline):
                    raise ObsTransportError(self.endpoint, exc, attempt) from None
                continue
            except requests.RequestException as exc:
                raise ObsTransportError(self.endpoint, exc, attempt) from None
            if response.status_code < 500 or not self._may_retry(attempt, deadline):
                return response
            response.close()

    def _attempt_timeout(self, deadline: float | None) -> Timeout:
        if deadline is None:
            return self._full_timeout
        # Leave an attempt at least a moment even when the budget is nearly spent.
        left = max(0.5, deadline - self.monotonic())
        return self._full_timeout if left >= self.timeout else Timeout(connect=left, read=left)

    def _may_retry(self, attempt: int, deadline: float | None) -> bool:
        if attempt > self.retry.max_retry_count:
            return False
        delay = self.retry.delay(attempt, self.rng)
        if deadline is not None and self.monotonic() + delay >= deadline:
            return False
        self.sleep(delay)
        return True
