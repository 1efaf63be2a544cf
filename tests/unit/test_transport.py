"""The lean adapter's hooks (handler/obs/transport.py) over real sockets on 127.0.0.1.

`responses` patches ``HTTPAdapter.send`` and so never reaches these hooks; each test here
sends through the real adapter to a raw server whose reply bytes it chooses, so that a
change that skips work also has to keep the behaviour: exact body bytes, case-insensitive
headers, timeouts, TLS verification.
"""

from __future__ import annotations

import datetime
import gc
import gzip
import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
import requests
import responses
from urllib3 import HTTPConnectionPool

from handler.obs import ObsClient, ObsTransportError
from handler.obs.connections import StdlibPool
from handler.obs.transport import LeanAdapter, RetryPolicy, Transport, new_session

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Reply = Callable[[socket.socket], None]


class RawServer:
    """Reads each request's head, then lets ``reply`` write whatever bytes it likes."""

    def __init__(self, reply: Reply, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.requests = 0
        self.connections = 0  # accepted
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                _, _, buffer = buffer.partition(b"\r\n\r\n")
                self.requests += 1
                self.reply(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server() -> Iterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    def start(reply: Reply, tls: ssl.SSLContext | None = None) -> RawServer:
        started.append(RawServer(reply, tls))
        return started[-1]

    yield start
    for each in started:
        each.close()


def reply_with(head: list[str], body: bytes = b"") -> Reply:
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    return lambda conn: conn.sendall(data)


def transport(endpoint: str, *, timeout: float = 5, retries: int = 0,
              verify: bool | str = True) -> Transport:
    session = new_session(pool_size=2)
    session.verify = verify
    return Transport(session, endpoint=endpoint, timeout=timeout,
                     retry=RetryPolicy(max_retry_count=retries, base_delay=0.01))


def get(url: str) -> Callable[[], requests.PreparedRequest]:
    def prepare() -> requests.PreparedRequest:
        prepared = requests.PreparedRequest()
        prepared.prepare(method="GET", url=url, headers={"Accept-Encoding": "identity"})
        return prepared

    return prepare


# -- body and headers -------------------------------------------------------------------

EVERY_BYTE = bytes(range(256)) * 40  # not UTF-8, larger than one 10 KiB iter_content chunk


def test_the_body_arrives_byte_for_byte(server: Callable[..., RawServer]) -> None:
    raw = server(reply_with(["HTTP/1.1 200 OK", f"Content-Length: {len(EVERY_BYTE)}"],
                            EVERY_BYTE))
    response = transport(f"http://127.0.0.1:{raw.port}").send(get(f"http://127.0.0.1:{raw.port}/k"))
    assert response.content == EVERY_BYTE
    assert response.status_code == 200


def test_a_chunked_body_is_reassembled(server: Callable[..., RawServer]) -> None:
    chunks = [EVERY_BYTE[:3000], EVERY_BYTE[3000:3001], EVERY_BYTE[3001:]]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    raw = server(reply_with(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], body))
    response = transport(f"http://127.0.0.1:{raw.port}").send(get(f"http://127.0.0.1:{raw.port}/k"))
    assert response.content == EVERY_BYTE


def test_a_gzip_body_is_decoded_as_iter_content_would(server: Callable[..., RawServer]) -> None:
    # We ask for identity; a server that compresses anyway is still read correctly.
    packed = gzip.compress(b"<Error><Code>NoSuchUpload</Code></Error>")
    raw = server(reply_with(["HTTP/1.1 404 Not Found", "Content-Encoding: gzip",
                             f"Content-Length: {len(packed)}"], packed))
    response = transport(f"http://127.0.0.1:{raw.port}").send(get(f"http://127.0.0.1:{raw.port}/k"))
    assert response.content == b"<Error><Code>NoSuchUpload</Code></Error>"


def test_headers_are_case_insensitive_and_keep_their_values(
        server: Callable[..., RawServer]) -> None:
    raw = server(reply_with(["HTTP/1.1 204 No Content", "X-Obs-Request-Id: ABC123",
                             "date: Tue, 01 Dec 2026 10:00:00 GMT", "Content-Length: 0"]))
    response = transport(f"http://127.0.0.1:{raw.port}").send(get(f"http://127.0.0.1:{raw.port}/k"))
    for name in ("x-obs-request-id", "X-OBS-REQUEST-ID", "X-Obs-Request-Id"):
        assert response.headers[name] == "ABC123"
    assert response.headers["Date"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    assert "DATE" in response.headers and "missing" not in response.headers
    assert response.content == b""


def test_a_get_result_reads_the_same_headers_over_real_http(
        server: Callable[..., RawServer]) -> None:
    raw = server(reply_with(["HTTP/1.1 204 No Content", "X-Obs-Request-Id: REQ9",
                             "X-Obs-Id-2: HOST9", "Content-Length: 0"]))
    result = ObsClient("ak", "sk", f"http://127.0.0.1:{raw.port}").abortMultipartUpload(
        "bucket", "key", "0" * 32)
    assert result.status == 204 and result.requestId == "REQ9"
    assert ("id-2", "HOST9") in result.header


def test_a_body_cut_short_is_a_retried_transport_error(server: Callable[..., RawServer]) -> None:
    def truncate(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n<ListParts")
        conn.shutdown(socket.SHUT_RDWR)

    raw = server(truncate)
    with pytest.raises(ObsTransportError) as caught:
        transport(f"http://127.0.0.1:{raw.port}", retries=2).send(
            get(f"http://127.0.0.1:{raw.port}/k"))
    assert raw.requests == 3  # the first attempt and both retries
    assert caught.value.attempts == 3
    assert caught.value.cause_type == "ChunkedEncodingError"  # as iter_content reported it


def test_the_connection_is_reused_after_a_body_is_read(server: Callable[..., RawServer]) -> None:
    connections = []

    def reply(conn: socket.socket) -> None:
        connections.append(conn.fileno())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

    raw = server(reply)
    sender = transport(f"http://127.0.0.1:{raw.port}")
    for _ in range(3):
        assert sender.send(get(f"http://127.0.0.1:{raw.port}/k")).content == b"hello"
    assert raw.requests == 3 and len(set(connections)) == 1


quickack = pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux's option")


@quickack
def test_every_request_asks_for_a_prompt_ack_on_the_socket_that_carried_it(
        server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """Against a server that holds a body back until its headers are acknowledged (RGW's
    default), a delayed ACK costs 40 ms per response: each response is read in quick-ack
    mode, asked for again per request because the kernel leaves it."""
    import http.client

    peers: list[tuple[str, int]] = []
    at_read: list[tuple[tuple[str, int], int]] = []
    read_response = http.client.HTTPConnection.getresponse

    def reading(self: http.client.HTTPConnection) -> http.client.HTTPResponse:
        # The mode as the response is about to be read; then left, as the kernel leaves
        # it after an exchange, so that the next request must ask for it again.
        sock = self.sock
        at_read.append((sock.getsockname(), sock.getsockopt(socket.IPPROTO_TCP,
                                                            socket.TCP_QUICKACK)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        return read_response(self)

    def reply(conn: socket.socket) -> None:
        peers.append(conn.getpeername())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", reading)
    raw = server(reply)
    sender = transport(f"http://127.0.0.1:{raw.port}")
    for _ in range(3):
        assert sender.send(get(f"http://127.0.0.1:{raw.port}/k")).content == b"hello"
    assert [where for where, _ in at_read] == peers and len(set(peers)) == 1
    assert [mode for _, mode in at_read] == [1, 1, 1]


@quickack
def test_a_prompt_ack_is_harmless_on_a_closed_or_missing_socket() -> None:
    from handler.obs.connections import _acknowledge_promptly

    closed = socket.socket()
    closed.close()
    _acknowledge_promptly(closed)
    _acknowledge_promptly(None)


def test_without_quick_ack_in_the_kernel_requests_go_as_before(
        server: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the platform has no TCP_QUICKACK (not Linux), nothing is set and nothing
    fails."""
    from handler.obs import connections

    monkeypatch.setattr(connections, "_TCP_QUICKACK", None)
    touched: list[tuple[Any, ...]] = []
    set_option = socket.socket.setsockopt

    def setting(self: socket.socket, *option: Any) -> None:
        if option[:2] == (socket.IPPROTO_TCP, getattr(socket, "TCP_QUICKACK", -1)):
            touched.append(option)
        set_option(self, *option)

    monkeypatch.setattr(socket.socket, "setsockopt", setting)

    def reply(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

    raw = server(reply)
    assert transport(f"http://127.0.0.1:{raw.port}").send(
        get(f"http://127.0.0.1:{raw.port}/k")).content == b"hello"
    assert touched == []


# -- timeouts ---------------------------------------------------------------------------

def hang(conn: socket.socket) -> None:
    time.sleep(3)


def test_the_read_timeout_is_honoured(server: Callable[..., RawServer]) -> None:
    raw = server(hang)
    started = time.monotonic()
    with pytest.raises(ObsTransportError):
        transport(f"http://127.0.0.1:{raw.port}", timeout=0.3).send(
            get(f"http://127.0.0.1:{raw.port}/k"))
    assert 0.25 <= time.monotonic() - started < 2


def test_a_near_deadline_shortens_the_timeout(server: Callable[..., RawServer]) -> None:
    raw = server(hang)
    sender = transport(f"http://127.0.0.1:{raw.port}", timeout=30)
    started = time.monotonic()
    with pytest.raises(ObsTransportError):
        sender.send(get(f"http://127.0.0.1:{raw.port}/k"), deadline=started + 0.6)
    assert time.monotonic() - started < 2.5


def test_one_timeout_object_serves_every_full_length_attempt() -> None:
    sender = transport("http://127.0.0.1:9", timeout=7)
    far = time.monotonic() + 900
    first, second = sender._attempt_timeout(None), sender._attempt_timeout(far)
    assert first is second and first.read_timeout == 7 and first.connect_timeout == 7
    near = sender._attempt_timeout(time.monotonic() + 2)
    assert near is not first and near.read_timeout is not None and near.read_timeout <= 2


# -- TLS --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 that no public CA signed, and a server context using it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context


OK = reply_with(["HTTP/1.1 204 No Content", "Content-Length: 0"])


def test_an_untrusted_certificate_is_refused(
        server: Callable[..., RawServer], self_signed: tuple[Path, ssl.SSLContext]) -> None:
    raw = server(OK, tls=self_signed[1])
    url = f"https://127.0.0.1:{raw.port}"
    sender = transport(url)
    for _ in range(2):  # the second call, on a pool already set up, is refused too
        with pytest.raises(ObsTransportError) as caught:
            sender.send(get(url + "/k"))
        assert caught.value.cause_type == "SSLError"
    assert raw.requests == 0


def test_a_trusted_ca_bundle_is_used_and_kept_apart_from_the_default(
        server: Callable[..., RawServer], self_signed: tuple[Path, ssl.SSLContext]) -> None:
    raw = server(OK, tls=self_signed[1])
    url = f"https://127.0.0.1:{raw.port}"
    session = new_session(pool_size=2)
    adapter = session.get_adapter(url)
    ours = adapter.send(get(url + "/k")(), verify=str(self_signed[0]), timeout=5)
    assert ours.status_code == 204
    # The same adapter, same host, default CA bundle: the pool set up for our bundle must
    # not carry its setting over.
    with pytest.raises(requests.exceptions.SSLError):
        adapter.send(get(url + "/k")(), verify=True, timeout=5)
    assert adapter.send(get(url + "/k")(), verify=str(self_signed[0]), timeout=5).ok


def test_a_missing_ca_bundle_fails_the_first_call(tmp_path: Path) -> None:
    client = ObsClient("ak", "sk", "https://127.0.0.1:9")
    client.session.verify = str(tmp_path / "absent.pem")
    client.transport.verify = client.session.verify
    with pytest.raises(OSError, match="invalid path"):
        client.abortMultipartUpload("bucket", "key", "0" * 32)


def test_the_ca_bundle_is_checked_once_per_pool_not_per_call(
        server: Callable[..., RawServer], self_signed: tuple[Path, ssl.SSLContext],
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = server(OK, tls=self_signed[1])
    url = f"https://127.0.0.1:{raw.port}"
    checked: list[str] = []
    exists = os.path.exists

    def counting(path: str) -> bool:
        checked.append(str(path))
        return exists(path)

    monkeypatch.setattr(os.path, "exists", counting)
    sender = transport(url, verify=str(self_signed[0]))
    for _ in range(5):
        assert sender.send(get(url + "/k")).status_code == 204
    assert checked.count(str(self_signed[0])) == 1
    assert raw.requests == 5


# -- the pool of http.client connections (handler/obs/connections.py) ---------------------

def test_the_pool_is_http_client_s_without_a_proxy_and_urllib3_s_with_one() -> None:
    adapter = new_session(pool_size=2).get_adapter("http://127.0.0.1:9")
    plain = adapter.get_connection_with_tls_context(get("http://127.0.0.1:9/k")(), True)
    proxied = adapter.get_connection_with_tls_context(
        get("http://127.0.0.1:9/k")(), True, proxies={"http": "http://127.0.0.1:8"})
    assert isinstance(plain, StdlibPool)
    assert isinstance(proxied, HTTPConnectionPool) and not isinstance(proxied, StdlibPool)


def test_a_connection_the_server_closed_while_idle_is_not_reused(
        server: Callable[..., RawServer]) -> None:
    def reply_then_hang_up(conn: socket.socket) -> None:
        # A keep-alive reply (no Connection: close), then the server's idle timeout.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.shutdown(socket.SHUT_RDWR)

    raw = server(reply_then_hang_up)
    sender = transport(f"http://127.0.0.1:{raw.port}", retries=0)  # no retry to hide it
    for _ in range(3):
        assert sender.send(get(f"http://127.0.0.1:{raw.port}/k")).content == b"ok"
        time.sleep(0.05)  # the close reaches the idle socket
    assert raw.requests == 3 and raw.connections == 3


def test_connection_close_is_obeyed(server: Callable[..., RawServer]) -> None:
    raw = server(reply_with(["HTTP/1.1 200 OK", "Connection: close", "Content-Length: 2"],
                            b"ok"))
    sender = transport(f"http://127.0.0.1:{raw.port}")
    for _ in range(3):
        assert sender.send(get(f"http://127.0.0.1:{raw.port}/k")).content == b"ok"
    assert raw.connections == 3


def test_a_full_pool_closes_the_connections_it_cannot_keep(
        server: Callable[..., RawServer]) -> None:
    arrived = threading.Barrier(5)

    def slow_ok(conn: socket.socket) -> None:
        arrived.wait(timeout=5)  # all five requests in flight at once: five connections
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    raw = server(slow_ok)
    url = f"http://127.0.0.1:{raw.port}"
    sender = transport(url)  # pool_size=2
    threads = [threading.Thread(target=sender.send, args=(get(url + "/k"),)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    pool = sender.adapter.get_connection_with_tls_context(get(url + "/k")(), True)
    assert isinstance(pool, StdlibPool)
    assert raw.connections == 5 and len(pool._idle) == 2  # kept two, closed three
    arrived = threading.Barrier(1)  # later requests answer at once, on the kept ones
    for _ in range(2):
        sender.send(get(url + "/k"))
    assert raw.connections == 5


def ok_then_note_hang_up(hung_up: threading.Event) -> Reply:
    """Answer "ok" on a kept-alive connection, then set ``hung_up`` when the client
    closes it (within 5 s)."""
    def reply(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.settimeout(5)
        if conn.recv(1) == b"":
            hung_up.set()

    return reply


def test_a_session_dropped_unclosed_closes_its_sockets(server: Callable[..., RawServer]) -> None:
    hung_up = threading.Event()
    raw = server(ok_then_note_hang_up(hung_up))
    sender = transport(f"http://127.0.0.1:{raw.port}")
    assert sender.send(get(f"http://127.0.0.1:{raw.port}/k")).content == b"ok"
    del sender
    gc.collect()
    assert hung_up.wait(timeout=5)


def test_a_connect_timeout_is_requests_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def times_out(self: http.client.HTTPConnection) -> None:
        raise TimeoutError("timed out")

    monkeypatch.setattr(http.client.HTTPConnection, "connect", times_out)
    adapter = new_session(pool_size=1).get_adapter("http://127.0.0.1:9")
    with pytest.raises(requests.ConnectTimeout):
        adapter.send(get("http://127.0.0.1:9/k")(), timeout=1)


def test_a_malformed_status_line_is_a_retried_connection_error(
        server: Callable[..., RawServer]) -> None:
    raw = server(reply_with(["SMTP ready"]))
    with pytest.raises(ObsTransportError) as caught:
        transport(f"http://127.0.0.1:{raw.port}", retries=1).send(
            get(f"http://127.0.0.1:{raw.port}/k"))
    assert raw.requests == 2 and caught.value.cause_type == "ConnectionError"


def test_the_request_goes_out_as_prepared(server: Callable[..., RawServer]) -> None:
    heads: list[bytes] = []

    class Recording(RawServer):
        def _connection(self, conn: socket.socket) -> None:
            heads.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    raw = Recording(lambda conn: None)
    try:
        url = f"http://127.0.0.1:{raw.port}/bucket/a/./b%20c?uploadId=X"

        def prepare() -> requests.PreparedRequest:
            prepared = requests.PreparedRequest()
            prepared.method = "DELETE"
            prepared.url = url
            prepared.headers = requests.structures.CaseInsensitiveDict(
                {"Accept-Encoding": "identity", "X-Obs-Date": "now", "Content-Length": "0"})
            prepared.body = None
            return prepared

        assert transport(f"http://127.0.0.1:{raw.port}").send(prepare).status_code == 204
    finally:
        raw.close()
    lines = heads[0].decode("latin-1").split("\r\n")
    assert lines[0] == "DELETE /bucket/a/./b%20c?uploadId=X HTTP/1.1"
    names = [line.split(":", 1)[0].lower() for line in lines[1:] if line]
    assert sorted(names) == ["accept-encoding", "content-length", "host", "x-obs-date"]
    assert f"Host: 127.0.0.1:{raw.port}" in lines


def test_an_ipv6_endpoint_without_a_port_gets_the_scheme_s_port() -> None:
    # http.client would read the last group of a bare "::1" as a port.
    adapter = new_session(pool_size=1).get_adapter("http://[::1]")
    for url, port in (("http://[::1]/k", 80), ("https://[2001:db8::1]/k", 443),
                      ("http://[fe80::abcd]:8080/k", 8080)):
        pool = adapter.get_connection_with_tls_context(get(url)(), True)
        assert isinstance(pool, StdlibPool) and pool.port == port
        connection = http.client.HTTPConnection(pool.host, pool.port)
        assert (connection.host, connection.port) == (url.split("[")[1].split("]")[0], port)


def answer_before_the_body(head: bytes) -> Reply:
    """Answer with ``head`` (and its body) without reading the request's body, then
    close: the unread body makes the close a reset."""
    def reply(conn: socket.socket) -> None:
        conn.sendall(head)
        time.sleep(0.2)
        conn.close()

    return reply


def large_put(url: str) -> requests.PreparedRequest:
    body = b"x" * (32 * 1024 * 1024)  # more than the socket buffers hold
    prepared = requests.PreparedRequest()
    prepared.method, prepared.url, prepared.body = "PUT", url, body
    prepared.headers = requests.structures.CaseInsensitiveDict({"Content-Length": str(len(body))})
    return prepared


def test_an_answer_sent_before_the_body_was_read_is_returned(
        server: Callable[..., RawServer]) -> None:
    error = b"<Error><Code>EntityTooLarge</Code></Error>"
    raw = server(answer_before_the_body(
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(error), error)))
    url = f"http://127.0.0.1:{raw.port}"
    response = transport(url).send(lambda: large_put(url + "/k"))
    assert response.status_code == 400 and b"EntityTooLarge" in response.content


def test_a_connection_whose_send_failed_is_never_reused(
        server: Callable[..., RawServer]) -> None:
    # No Connection: close, yet the body was never read: the connection is spoilt.
    raw = server(answer_before_the_body(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
    url = f"http://127.0.0.1:{raw.port}"
    adapter = new_session(pool_size=2).get_adapter(url)
    prepared = large_put(url + "/k")
    assert adapter.send(prepared, timeout=5).status_code == 400
    pool = adapter.get_connection_with_tls_context(prepared, True)
    assert isinstance(pool, StdlibPool) and len(pool._idle) == 0


def test_pools_are_bounded_and_a_dropped_one_closes_its_sockets(
        server: Callable[..., RawServer]) -> None:
    closed = threading.Event()
    first = server(ok_then_note_hang_up(closed))
    others = [server(reply_with(["HTTP/1.1 200 OK", "Content-Length: 2"], b"ok"))
              for _ in range(2)]
    session = requests.Session()
    adapter = LeanAdapter(pool_connections=2, pool_maxsize=2, max_retries=0)
    session.mount("http://", adapter)
    sender = Transport(session, endpoint="http://127.0.0.1", timeout=5,
                       retry=RetryPolicy(max_retry_count=0))
    for raw in (first, *others):
        assert sender.send(get(f"http://127.0.0.1:{raw.port}/k")).content == b"ok"
    assert len(adapter._pools) == 2  # the least recently used (first's) was dropped
    assert closed.wait(timeout=5)  # and its idle connection closed


def test_a_multi_member_gzip_body_is_decoded_whole(server: Callable[..., RawServer]) -> None:
    packed = gzip.compress(b"hello ") + gzip.compress(b"world")
    raw = server(reply_with(["HTTP/1.1 200 OK", "Content-Encoding: gzip",
                             f"Content-Length: {len(packed)}"], packed))
    response = transport(f"http://127.0.0.1:{raw.port}").send(get(f"http://127.0.0.1:{raw.port}/k"))
    assert response.content == b"hello world"


def test_a_ca_file_without_certificates_is_a_transport_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    client = ObsClient("ak", "sk", "https://127.0.0.1:9")
    client.session.verify = str(empty)
    client.transport.verify = client.session.verify
    with pytest.raises(ObsTransportError, match="SSLError"):
        client.abortMultipartUpload("bucket", "key", "0" * 32)


def test_a_reset_is_raised_once_not_as_its_own_cause(server: Callable[..., RawServer]) -> None:
    def hang_up(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        conn.close()  # a reset, no status line

    raw = server(hang_up)
    adapter = new_session(pool_size=1).get_adapter(f"http://127.0.0.1:{raw.port}")
    with pytest.raises(requests.ConnectionError) as caught:
        adapter.send(get(f"http://127.0.0.1:{raw.port}/k")(), timeout=5)
    chain, cause = [], caught.value.__cause__ or caught.value.__context__
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__
    assert len(chain) < 10  # no exception is its own cause
    assert "StdlibPool object at" not in str(caught.value)


# -- responses still sees every call ----------------------------------------------------

@responses.activate
def test_responses_still_intercepts_every_call() -> None:
    responses.add(responses.DELETE, "http://127.0.0.1:9/bucket/key", status=204,
                  headers={"x-obs-request-id": "R1"})
    client = ObsClient("ak", "sk", "http://127.0.0.1:9")
    for _ in range(3):
        assert client.abortMultipartUpload("bucket", "key", "0" * 32).requestId == "R1"
    assert len(responses.calls) == 3
