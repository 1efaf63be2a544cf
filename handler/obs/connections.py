"""Kept-alive HTTP/1.1 connections on ``http.client``, for requests' adapter to send through.

Why not urllib3's pool: an abort's round trip costs about 355k instructions in
``http.client`` itself, and urllib3's connection and pool layers add about 360k more on top
of it (docs/obs.md, "Where an abort's instructions go"). The official SDK sends straight
through ``http.client``. This module gives ``LeanAdapter`` a pool with urllib3's
``urlopen`` signature built on ``http.client`` alone, so that ``HTTPAdapter.send`` (and
`responses`, which patches it) still sees every call, while the layers between it and
the socket are the SDK's.

It covers only what a signed OBS call needs: http and https to the configured endpoint,
no proxy, no client certificate (LeanAdapter keeps urllib3's pool for those), bodies sent
whole, responses read whole. Errors are raised as what ``HTTPAdapter.send`` maps to
requests' exceptions: ``OSError`` (connect, reset, timeout, TLS) and urllib3's
``ProtocolError`` (a malformed or cut-off response) both become ``requests.ConnectionError``,
as they do through urllib3.
"""

from __future__ import annotations

import errno
import http.client
import select
import socket
import ssl
import warnings
import weakref
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    InsecureRequestWarning,
    MaxRetryError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from urllib3.util import Timeout


class WholeResponse:
    """A response read to its end: what ``LeanAdapter.build_response`` and
    ``Response.close`` use of urllib3's ``HTTPResponse``, and nothing more."""

    __slots__ = ("_body", "_failure", "headers", "reason", "status", "version")

    def __init__(self, status: int, reason: str, headers: http.client.HTTPMessage,
                 version: int, body: bytes, *, failure: Exception | None = None) -> None:
        self.status = status
        self.reason = reason
        # http.client's message: case-insensitive ``get``, every header line in ``items``.
        self.headers = headers
        self.version = version
        self._body = body
        self._failure = failure  # what reading the body raised, raised again by read()

    def read(self, decode_content: bool = True) -> bytes:
        if self._failure is not None:
            raise self._failure
        if not decode_content or not self._body:
            return self._body
        encoding = (self.headers.get("content-encoding") or "").strip().lower()
        if encoding in ("", "identity"):
            return self._body
        try:
            if encoding in ("gzip", "x-gzip"):
                return _gunzip(self._body)
            if encoding == "deflate":
                try:
                    return zlib.decompress(self._body)
                except zlib.error:  # raw deflate, without the zlib header, as some servers send
                    return zlib.decompress(self._body, -zlib.MAX_WBITS)
        except (zlib.error, EOFError, OSError) as exc:  # gzip's BadGzipFile is an OSError
            raise DecodeError(f"cannot decode a {encoding} body: {exc}") from exc
        return self._body  # an encoding we never asked for: the bytes as sent

    def close(self) -> None:
        """Nothing to release: the connection went back to its pool when the body was read."""

    def release_conn(self) -> None:
        """As ``close``."""


class StdlibPool:
    """Idle connections to one origin, reused last-in first-out.

    Like urllib3's default (``block=False``), a caller never waits for a connection: when
    none is idle a new one is opened, and a connection coming back to a full pool is
    closed. Before reuse a connection is checked for having been closed by the server
    while idle, as urllib3 does; a close racing the request still fails it, and the
    caller's retry (Transport) sends it again on a fresh connection.
    """

    def __init__(self, scheme: str, host: str, port: int | None, *, maxsize: int,
                 ssl_context: ssl.SSLContext | None) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.maxsize = maxsize
        self.ssl_context = ssl_context
        self._idle: deque[http.client.HTTPConnection] = deque()
        # Close idle sockets when the pool is dropped without close(), as urllib3's pool
        # does: a Session nobody closed must not leak them.
        weakref.finalize(self, _close_all, self._idle)

    def urlopen(self, method: str, url: str, body: bytes | str | None = None,
                headers: Mapping[str, str] | None = None, *, timeout: Timeout,
                chunked: bool = False, **_urllib3_only: Any) -> WholeResponse:
        """Send one request and read its whole response.

        Takes ``HTTPAdapter.send``'s keyword arguments; those that only steer urllib3
        (retries, redirect, preload_content, ...) do not apply: this pool never retries,
        never redirects and always reads the body.
        """
        read_timeout = _seconds(timeout.read_timeout)
        connection = self._connection(url, _seconds(timeout.connect_timeout), read_timeout)
        sent_whole = True
        try:
            try:
                connection.request(method, url, body=body, headers=headers or {},
                                   encode_chunked=chunked)
            except OSError as exc:
                # A server may answer (413, 400, 403) and close before it has read the
                # whole body: the send then fails, but its answer is there to be read.
                # urllib3 ignores these errors on sending for the same reason.
                if not isinstance(exc, BrokenPipeError) and exc.errno not in _EARLY_ANSWER:
                    raise
                sent_whole = False  # whatever the answer says, this connection is done
            _acknowledge_promptly(connection.sock)
            response = connection.getresponse()
        except Exception as exc:
            connection.close()
            mapped = self._as_urllib3_error(exc, url, read_timeout)
            if mapped is exc:
                raise
            raise mapped from exc
        except BaseException:
            connection.close()
            raise
        try:
            content = response.read()
        except Exception as exc:
            # On a response that closes the connection, http.client has handed the socket
            # to the response: closing the connection alone would leave it open.
            response.close()
            connection.close()
            # urllib3 reports a failure in the body when the body is read, not from
            # urlopen, and requests names it then (a body cut short is a
            # ChunkedEncodingError): the failure waits for read().
            failure = self._as_urllib3_error(exc, url, read_timeout)
            if failure is exc:  # a reset mid-body: urllib3 says "Connection broken"
                failure = ProtocolError(f"Connection broken: {exc!r}", exc)
            failure.__cause__ = exc
            return WholeResponse(response.status, response.reason, response.msg,
                                 response.version, b"", failure=failure)
        except BaseException:
            response.close()
            connection.close()
            raise
        if response.will_close or not sent_whole:
            connection.close()
        else:
            self._put(connection)
        return WholeResponse(response.status, response.reason, response.msg,
                             response.version, content)

    def _as_urllib3_error(self, exc: Exception, url: str,
                          read_timeout: float | None) -> Exception:
        """``exc`` as urllib3 raises it, so that requests maps it to the same exception."""
        if isinstance(exc, TimeoutError):
            # urllib3's class and words (requests: ReadTimeout). The pool argument only
            # names the origin in urllib3's messages.
            return ReadTimeoutError(
                self, url, f"Read timed out. (read timeout={read_timeout})",  # type: ignore[arg-type]
            )
        if isinstance(exc, ssl.SSLError):
            return SSLError(exc)
        if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
            # A malformed or cut-off response; RemoteDisconnected is an OSError already.
            return ProtocolError(f"{type(exc).__name__}: {exc}", exc)
        return exc

    def __repr__(self) -> str:  # urllib3 names the pool in its messages: the origin only
        return f"StdlibPool({self.scheme}://{self.host}:{self.port})"

    def close(self) -> None:
        _close_all(self._idle)

    def _connection(self, url: str, connect_timeout: float | None,
                    read_timeout: float | None) -> http.client.HTTPConnection:
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                break
            sock = connection.sock
            if sock is None or _readable(sock):
                connection.close()
                continue
            if sock.gettimeout() != read_timeout:
                sock.settimeout(read_timeout)
            return connection
        return self._new_connection(url, connect_timeout, read_timeout)

    def _new_connection(self, url: str, connect_timeout: float | None,
                        read_timeout: float | None) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            if self.ssl_context is not None and not self.ssl_context.check_hostname:
                # verify=False: as urllib3 warns on every unverified connection.
                warnings.warn(f"Unverified HTTPS request to {self.host}",
                              InsecureRequestWarning, stacklevel=2)
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=connect_timeout, context=self.ssl_context)
        else:
            connection = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=connect_timeout)
        try:
            connection.connect()  # http.client turns Nagle's algorithm off (TCP_NODELAY) here
        except TimeoutError as exc:
            # As urllib3 reports it, so that requests raises ConnectTimeout.
            raise MaxRetryError(
                None, url,  # type: ignore[arg-type]
                ConnectTimeoutError(f"connect timed out (timeout={connect_timeout})"),
            ) from exc
        except ssl.SSLError as exc:  # the handshake, a certificate that does not verify
            raise SSLError(exc) from exc
        assert connection.sock is not None
        connection.sock.settimeout(read_timeout)
        return connection

    def _put(self, connection: http.client.HTTPConnection) -> None:
        if len(self._idle) < self.maxsize:
            self._idle.append(connection)
        else:
            connection.close()


def _gunzip(data: bytes) -> bytes:
    """Every member of a gzip body, as urllib3 decodes it (zlib alone stops after one)."""
    import gzip

    return gzip.decompress(data)


# errno values with which a send fails when the server has answered and closed early.
_EARLY_ANSWER = frozenset(code for code in (
    getattr(errno, "ECONNRESET", None), getattr(errno, "EPROTOTYPE", None),
    getattr(errno, "ESHUTDOWN", None)) if code is not None)


# Linux's; absent elsewhere (macOS, Windows), where nothing is set.
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def _acknowledge_promptly(sock: socket.socket | None) -> None:
    """Have the kernel acknowledge the response's first segment at once.

    A server that writes a response's headers and its body in two small writes, with
    Nagle's algorithm on, holds the body back until the headers are acknowledged. On a
    kept-alive connection Linux delays that acknowledgement (40 ms at least), hoping to
    carry it on the client's next request, which waits for this response: every response
    with a body then takes 40 ms more. Ceph RGW's beast frontend does this by default
    (its ``tcp_nodelay`` option is off); a ListParts took 44 ms there one at a time, 1.6 ms
    with this (docs/rgw.md). Quick-ack mode is not permanent (tcp(7)): the kernel leaves
    it as the exchange goes on, so it is asked for on every request, after the request is
    sent and before the answer is read. An extra ACK packet per response is its cost.
    """
    if _TCP_QUICKACK is None or sock is None:
        return
    try:  # noqa: SIM105 (once per request: suppress() would add a context manager to each)
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
    except OSError:
        pass  # a socket the server has closed meanwhile: reading the answer says so


def _readable(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: the server closed it (or sent
    what nobody asked for), so it must not carry a request. urllib3 checks the same with
    ``wait_for_read``; poll() directly is that check without its layers of wrappers."""
    if _poll is None:  # no poll() on this platform: select() does the same for one socket
        return bool(select.select([sock], [], [], 0.0)[0])
    poller = _poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


_poll = getattr(select, "poll", None)


def _close_all(idle: deque[http.client.HTTPConnection]) -> None:
    while True:
        try:
            connection = idle.pop()
        except IndexError:  # empty, or emptied by another thread meanwhile
            return
        connection.close()


def _seconds(value: Any) -> float | None:
    """urllib3's ``Timeout`` gives a float, None (no limit) or its default sentinel."""
    return float(value) if isinstance(value, (int, float)) else None


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The context requests would verify with: its CA bundle (certifi) unless ``verify``
    names a file or directory; no verification at all for ``verify=False``."""
    import os

    from requests.utils import DEFAULT_CA_BUNDLE_PATH, extract_zipped_paths

    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    where = (extract_zipped_paths(DEFAULT_CA_BUNDLE_PATH)  # type: ignore[no-untyped-call]
             if verify is True else verify)
    if not os.path.exists(where):
        # requests' cert_verify raises the same for a missing bundle.
        raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: "
                      f"{where}")
    if os.path.isdir(where):
        return ssl.create_default_context(capath=where)
    return ssl.create_default_context(cafile=where)
