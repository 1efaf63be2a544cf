"""A loopback HTTP server that records each request and answers with a canned reply.

Used by the conformance tests to capture what our client and the official SDK put on the
wire, byte for byte, and to hand both the very same response.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Captured:
    method: str
    target: str  # path and query exactly as received
    headers: list[tuple[str, str]]
    host: str

    def prefixed_headers(self) -> dict[str, str]:
        """Every x-obs-*/x-amz-* header plus Authorization, names lower-cased."""
        return {
            name.lower(): value
            for name, value in self.headers
            if name.lower().startswith(("x-obs-", "x-amz-")) or name.lower() == "authorization"
        }


@dataclass
class Canned:
    status: int = 204
    reason: str = "No Content"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def render(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {self.reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines += [f"Content-Length: {len(self.body)}", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


class CannedServer:
    def __init__(self) -> None:
        self.captured: list[Captured] = []
        self.reply = Canned()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                server.captured.append(
                    Captured(self.command, self.path, list(self.headers.items()),
                             self.headers.get("Host", ""))
                )
                self.close_connection = True
                self.wfile.write(server.reply.render())

            do_GET = do_DELETE = do_HEAD = do_PUT = do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> CannedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def take(self) -> Captured:
        assert len(self.captured) == 1, f"expected one request, got {len(self.captured)}"
        return self.captured.pop()


def route_test_domain_to_loopback(monkeypatch: object) -> None:
    """Resolve every ``*.test`` host (RFC 2606) to 127.0.0.1, so virtual-host requests
    (``bucket.obs.test``) reach the local server without touching DNS."""
    real = socket.getaddrinfo

    def fake(host: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if isinstance(host, str) and host.endswith(".test"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", fake)  # type: ignore[attr-defined]


