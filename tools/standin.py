"""A small in-memory OBS stand-in: ListMultipartUploads, ListParts, AbortMultipartUpload,
and for the inventory GetBucketLifecycle and PutObject.

Dev-only. One ``FakeObs`` state answers both `responses` callbacks (unit and functional
tests) and real HTTP on 127.0.0.1 (``serve``: the 5,000-upload sweep, reliability runs,
benchmarks). Its clock can run ahead of ours, to prove that ages use the server's Date.
"""

from __future__ import annotations

import bisect
import socket
import struct
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

Reply = tuple[int, dict[str, str], str]
# Faults that are not an HTTP answer. Over HTTP: RESET_AFTER_READ closes the connection
# having read the request (nothing processed); PROCESS_THEN_RESET processes it and closes
# without answering; HANG reads it and answers nothing for ``hang_s``; TRUNCATE sends half a
# body. Through `responses` each becomes a ConnectionError (the client cannot tell them apart).
RESET_AFTER_READ, PROCESS_THEN_RESET, HANG, TRUNCATE = (
    "reset-after-read", "process-then-reset", "hang", "truncate")
SKEW_LIMIT = timedelta(minutes=15)
NS = "http://obs.cn-north-4.myhuaweicloud.com/doc/2015-06-30/"


def _iso(moment: datetime) -> str:
    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
    return stamp + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class FakeUpload:
    key: str
    upload_id: str
    initiated: datetime
    initiator: str = "domain/owner:user/uploader"
    parts: list[tuple[int, datetime, int]] = field(default_factory=list)


class FakeObs:
    """Buckets of in-progress uploads, answering requests as OBS would (docs/obs.md §4)."""

    def __init__(self, *, server_offset: timedelta = timedelta(0), send_date: bool = True,
                 check_skew: bool = False, hang_s: float = 3.0) -> None:
        self.server_offset = server_offset
        self.send_date = send_date
        self.check_skew = check_skew
        self.hang_s = hang_s
        # uploadId -> how many more aborts answer 204 but leave the upload listed
        self.ghost_aborts: Counter[str] = Counter()
        # consulted as each connection opens: True resets it before anything is read
        self.reset_connection: Callable[[], bool] = lambda: False
        self.faults_injected = 0
        self.buckets: dict[str, dict[tuple[str, str], FakeUpload]] = {}
        self._sorted: dict[str, list[tuple[str, str]]] = {}
        self.aborts: Counter[tuple[str, str, str]] = Counter()
        # bucket -> its LifecycleConfiguration document; a bucket without one answers 404
        # NoSuchLifecycleConfiguration, as OBS does
        self.lifecycles: dict[str, str] = {}
        # (bucket, key) -> (body, request headers) of each PutObject
        self.objects: dict[tuple[str, str], tuple[bytes, dict[str, str]]] = {}
        self.requests: Counter[str] = Counter()
        # The same requests by operation (list, list_parts, abort, other): the benchmark's
        # requests per upload come from here, not from the client's own count.
        self.kinds: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._serial = 0
        # Tests replace this to inject faults: (method, bucket, key, query) -> Reply, an
        # action above, or None for the normal answer.
        self.fault: Callable[[str, str, str | None, dict[str, str]], Reply | str | None] = (
            lambda *a: None)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.server_offset

    # -- setting up ----------------------------------------------------------------

    def add_upload(
        self, bucket: str, key: str, *, age: timedelta, initiator: str | None = None,
        part_ages: list[timedelta] | None = None, part_size: int = 5 * 1024 * 1024,
        upload_id: str | None = None,
    ) -> FakeUpload:
        """An upload started ``age`` ago on the server's clock, with parts of given ages."""
        with self.lock:
            self._serial += 1
            uid = upload_id or f"{self._serial:032X}"
            now = self.now()
            parts = [(n + 1, now - a, part_size) for n, a in enumerate(part_ages or [])]
            upload = FakeUpload(key, uid, now - age, initiator or FakeUpload.initiator, parts)
            self.buckets.setdefault(bucket, {})[(key, uid)] = upload
            bisect.insort(self._sorted.setdefault(bucket, []), (key, uid))
            return upload

    def bulk_add(self, bucket: str, uploads: list[FakeUpload]) -> None:
        """Many uploads at once (a sort, not an insort per upload)."""
        with self.lock:
            table = self.buckets.setdefault(bucket, {})
            for upload in uploads:
                table[(upload.key, upload.upload_id)] = upload
            self._sorted[bucket] = sorted(table)

    def remaining(self, bucket: str) -> set[tuple[str, str]]:
        return set(self.buckets.get(bucket, {}))

    # -- answering -----------------------------------------------------------------

    def answer(self, method: str, url: str, headers: dict[str, str] | None = None,
               body: bytes | None = None) -> Reply | str:
        """Answer one request, path-style (``/bucket/key``) or virtual-host."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        host_bucket = (parts.hostname or "").split(".")[0]
        path = parts.path
        if host_bucket in self.buckets or not _is_path_style(parts.hostname or ""):
            bucket, key = host_bucket, unquote(path[1:]) or None
        else:
            bucket, _, rest = path[1:].partition("/")
            key = unquote(rest) or None
        with self.lock:
            self.requests[method] += 1
            self.kinds[_kind(method, key, query)] += 1
        injected = self.fault(method, bucket, key, query)
        if injected is not None:
            with self.lock:
                self.faults_injected += 1
            if injected == PROCESS_THEN_RESET:
                self.answer_normally(method, bucket, key, query)
            return injected
        if self.check_skew and headers is not None:
            sent = headers.get("Date") or headers.get("date")
            try:
                skew = abs(parsedate_to_datetime(sent) - self.now()) if sent else SKEW_LIMIT * 2
            except (TypeError, ValueError):
                skew = SKEW_LIMIT * 2
            if skew > SKEW_LIMIT:
                return self._error(403, "RequestTimeTooSkewed",
                                   "The difference between the request time and the server's time is too large.")
        if method == "PUT" and key is not None and not query and bucket in self.buckets:
            with self.lock:
                self.objects[(bucket, key)] = (body or b"", dict(headers or {}))
            return 200, {**self._headers(content_type=None), "ETag": '"stand-in"'}, ""
        return self.answer_normally(method, bucket, key, query)

    def answer_normally(self, method: str, bucket: str, key: str | None, query: dict[str, str]) -> Reply:
        if bucket not in self.buckets:
            return self._error(404, "NoSuchBucket", "The specified bucket does not exist")
        if method == "GET" and "uploads" in query and key is None:
            return self._list_uploads(bucket, query)
        if method == "GET" and "uploadId" in query and key is not None:
            return self._list_parts(bucket, key, query)
        if method == "DELETE" and "uploadId" in query and key is not None:
            return self._abort(bucket, key, query["uploadId"])
        if method == "GET" and "lifecycle" in query and key is None:
            if bucket not in self.lifecycles:
                return self._error(404, "NoSuchLifecycleConfiguration",
                                   "The lifecycle configuration does not exist")
            return 200, self._headers(), self.lifecycles[bucket]
        return self._error(405, "MethodNotAllowed", "not supported by the stand-in")

    def _headers(self, content_type: str | None = "application/xml") -> dict[str, str]:
        headers = {"x-obs-request-id": f"SR{self._serial:014X}", "Server": "OBS"}
        if self.send_date:
            headers["Date"] = format_datetime(self.now(), usegmt=True)
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _error(self, status: int, code: str, message: str) -> Reply:
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>SRERR</RequestId></Error>")
        return status, self._headers(), body

    def _list_uploads(self, bucket: str, query: dict[str, str]) -> Reply:
        prefix = query.get("prefix", "")
        limit = min(int(query.get("max-uploads", "1000") or 1000), 1000)
        marker = (query.get("key-marker", ""), query.get("upload-id-marker", ""))
        url = query.get("encoding-type") == "url"
        delimiter = query.get("delimiter") or None
        prefixes: list[str] = []
        with self.lock:
            ordered = self._sorted.get(bucket, [])
            start = bisect.bisect_right(ordered, marker) if marker[0] else 0
            if delimiter and marker[0].endswith(delimiter):
                # The marker is a common prefix: resume after every key beneath it.
                start = bisect.bisect_left(ordered, (marker[0] + "\U0010ffff", ""))
            # Keys sharing a prefix are contiguous in sorted order.
            index = max(start, bisect.bisect_left(ordered, (prefix, "")))
            page: list[FakeUpload] = []
            last_marker: tuple[str, str] | None = None
            while (index < len(ordered) and len(page) + len(prefixes) < limit
                   and ordered[index][0].startswith(prefix)):
                key = ordered[index][0]
                rest = key[len(prefix):]
                if delimiter and delimiter in rest:
                    common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                    prefixes.append(common)
                    last_marker = (common, "")
                    index = bisect.bisect_left(ordered, (common + "\U0010ffff", ""))
                    continue
                page.append(self.buckets[bucket][ordered[index]])
                last_marker = ordered[index]
                index += 1
            truncated = index < len(ordered) and ordered[index][0].startswith(prefix)
        enc = (lambda s: quote(s, safe="/")) if url else escape
        items = "".join(
            f"<Upload><Key>{enc(u.key)}</Key><UploadId>{u.upload_id}</UploadId>"
            f"<Initiator><ID>{escape(u.initiator)}</ID></Initiator><Owner><ID>owner</ID></Owner>"
            f"<StorageClass>STANDARD</StorageClass><Initiated>{_iso(u.initiated)}</Initiated></Upload>"
            for u in page
        )
        next_key, next_id = last_marker if truncated and last_marker else ("", "")
        body = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ListMultipartUploadsResult xmlns="{NS}">'
            f"<Bucket>{bucket}</Bucket><KeyMarker>{enc(marker[0])}</KeyMarker>"
            f"<UploadIdMarker>{marker[1]}</UploadIdMarker>"
            f"<NextKeyMarker>{enc(next_key)}</NextKeyMarker>"
            f"<NextUploadIdMarker>{next_id}</NextUploadIdMarker>"
            f"{'<EncodingType>url</EncodingType>' if url else ''}<MaxUploads>{limit}</MaxUploads>"
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{items}"
            + "".join(f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes)
            + "</ListMultipartUploadsResult>"
        )
        return 200, self._headers(), body

    def _list_parts(self, bucket: str, key: str, query: dict[str, str]) -> Reply:
        upload = self.buckets[bucket].get((key, query["uploadId"]))
        if upload is None:
            return self._error(404, "NoSuchUpload", "The specified upload does not exist")
        marker = int(query.get("part-number-marker", "0") or 0)
        limit = min(int(query.get("max-parts", "1000") or 1000), 1000)
        parts = [p for p in upload.parts if p[0] > marker]
        page, truncated = parts[:limit], len(parts) > limit
        items = "".join(
            f"<Part><PartNumber>{n}</PartNumber><LastModified>{_iso(t)}</LastModified>"
            f'<ETag>"etag{n}"</ETag><Size>{size}</Size></Part>'
            for n, t, size in page
        )
        next_marker = f"<NextPartNumberMarker>{page[-1][0]}</NextPartNumberMarker>" if page else ""
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><ListPartsResult xmlns="{NS}"><Bucket>{bucket}</Bucket>'
            f"<Key>{quote(key, safe='/')}</Key><UploadId>{upload.upload_id}</UploadId>"
            f"<EncodingType>url</EncodingType><PartNumberMarker>{marker}</PartNumberMarker>{next_marker}"
            f"<MaxParts>{limit}</MaxParts><IsTruncated>{str(truncated).lower()}</IsTruncated>{items}"
            "</ListPartsResult>"
        )
        return 200, self._headers(), body

    def _abort(self, bucket: str, key: str, upload_id: str) -> Reply:
        with self.lock:
            self.aborts[(bucket, key, upload_id)] += 1
            if self.ghost_aborts[upload_id] > 0 and (key, upload_id) in self.buckets[bucket]:
                self.ghost_aborts[upload_id] -= 1
                self.faults_injected += 1
                return 204, self._headers(content_type=None), ""  # says done, keeps it
            upload = self.buckets[bucket].pop((key, upload_id), None)
            if upload is not None:
                ordered = self._sorted[bucket]
                del ordered[bisect.bisect_left(ordered, (key, upload_id))]
        if upload is None:
            return self._error(404, "NoSuchUpload", "The specified upload does not exist")
        return 204, self._headers(content_type=None), ""

    # -- plumbing --------------------------------------------------------------------

    def responses_callback(self, method: str) -> Callable[[Any], Reply]:
        def callback(request: Any) -> Reply:
            body = request.body.encode() if isinstance(request.body, str) else request.body
            reply = self.answer(method, request.url, dict(request.headers), body)
            if isinstance(reply, str):
                import requests

                raise requests.ConnectionError(f"stand-in fault: {reply}")
            return reply

        return callback


def _kind(method: str, key: str | None, query: dict[str, str]) -> str:
    if method == "GET" and key is None and "uploads" in query:
        return "list"
    if key is not None and "uploadId" in query:
        return {"GET": "list_parts", "DELETE": "abort"}.get(method, "other")
    return "other"


def _reset(connection: socket.socket) -> None:
    """Close with an RST rather than a FIN, as a crashed server or middlebox does."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    except OSError:
        pass


def _is_path_style(host: str) -> bool:
    return host in ("localhost", "127.0.0.1") or host.replace(".", "").isdigit()


def _http_reply(status: int, headers: dict[str, str], body: bytes) -> bytes:
    """Status line, headers and body as one buffer: one ``send`` per reply."""
    reason = BaseHTTPRequestHandler.responses.get(status, ("",))[0]
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: with Nagle's algorithm on, a reply written in two pieces waits for the
    # client's delayed ACK (40 ms on Linux) before its second piece leaves, and the
    # benchmarks would measure that stall instead of the client. Replies are also written
    # in one send (``_reply``), as a real server's would be.
    disable_nagle_algorithm = True
    state: FakeObs

    def handle(self) -> None:
        if self.state.reset_connection():
            with self.state.lock:
                self.state.faults_injected += 1
            _reset(self.connection)
            return
        super().handle()

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        reply = self.state.answer(self.command, f"http://127.0.0.1{self.path}", dict(self.headers),
                                  body)
        if isinstance(reply, str):
            self._act(reply)
            return
        status, headers, body = reply
        self.wfile.write(_http_reply(status, headers, body.encode()))

    def _act(self, action: str) -> None:
        self.close_connection = True
        if action == HANG:
            time.sleep(self.state.hang_s)
        elif action == TRUNCATE:
            body = b'<?xml version="1.0"?><ListMultipartUploadsResult><IsTrunc'
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
                             b"Content-Length: 400\r\n\r\n" + body)
            self.wfile.flush()
        _reset(self.connection)

    do_GET = do_DELETE = do_PUT = _reply  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class Served:
    def __init__(self, state: FakeObs) -> None:
        handler = type("Handler", (_Handler,), {"state": state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serve(state: FakeObs) -> Iterator[Served]:
    """Serve ``state`` over HTTP on 127.0.0.1 and a free port for the ``with`` block."""
    served = Served(state)
    try:
        yield served
    finally:
        served.stop()


class SyntheticObs(FakeObs):
    """A bucket of ``count`` uploads made up on the fly: a million costs no memory.

    Upload i has key ``sweep/{i:09d}``, uploadId ``{i:032X}``, was initiated three days
    ago and has one 5 MiB part. Aborts are remembered in a bitmap (one bit per upload) so
    that a double abort shows; an aborted upload leaves the listings and its ListParts
    answers 404, as on OBS, so that a sweep's verification sees its aborts take.
    """

    BUCKET = "synthetic"

    def __init__(self, count: int, *, delay_s: float = 0.0) -> None:
        super().__init__()
        self.count = count
        self.delay_s = delay_s
        self.buckets[self.BUCKET] = {}
        self.aborted = bytearray((count + 7) // 8)
        self.double_aborts = 0
        # Requests being answered at once, and the most seen: the concurrency a client
        # really achieved, whatever it was configured with.
        self.in_flight = self.peak_in_flight = 0
        self.initiated = self.now() - timedelta(days=3)

    def _index(self, key: str | None) -> int | None:
        if key is None or not key.startswith("sweep/"):
            return None
        try:
            index = int(key[6:])
        except ValueError:
            return None
        return index if 0 <= index < self.count else None

    def answer_normally(self, method: str, bucket: str, key: str | None, query: dict[str, str]) -> Reply:
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self._synthetic_answer(method, bucket, key, query)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _synthetic_answer(self, method: str, bucket: str, key: str | None,
                          query: dict[str, str]) -> Reply:
        if bucket != self.BUCKET:
            return self._error(404, "NoSuchBucket", "The specified bucket does not exist")
        if method == "GET" and "uploads" in query and key is None:
            return self._synthetic_list(query)
        index = self._index(key)
        if index is None or query.get("uploadId") != f"{index:032X}":
            return self._error(404, "NoSuchUpload", "The specified upload does not exist")
        byte, bit = divmod(index, 8)
        if method == "DELETE":
            with self.lock:
                seen = self.aborted[byte] & (1 << bit)
                self.aborted[byte] |= 1 << bit
                self.double_aborts += bool(seen)
            return 204, self._headers(content_type=None), ""
        if self.aborted[byte] & (1 << bit):
            return self._error(404, "NoSuchUpload", "The specified upload does not exist")
        upload = FakeUpload(key or "", query["uploadId"], self.initiated,
                            parts=[(1, self.initiated, 5 * 1024 * 1024)])
        self.buckets[self.BUCKET] = {(upload.key, upload.upload_id): upload}
        return self._list_parts(self.BUCKET, upload.key, query)

    def aborted_count(self) -> int:
        return sum(bin(byte).count("1") for byte in self.aborted)

    def _synthetic_list(self, query: dict[str, str]) -> Reply:
        limit = min(int(query.get("max-uploads", "1000") or 1000), 1000)
        marker = self._index(query.get("key-marker"))
        index = 0 if marker is None else marker + 1
        listed: list[int] = []
        aborted = self.aborted
        while index < self.count and len(listed) < limit:
            if not aborted[index >> 3] & (1 << (index & 7)):
                listed.append(index)
            index += 1
        stamp = _iso(self.initiated)
        items = "".join(
            f"<Upload><Key>sweep/{i:09d}</Key><UploadId>{i:032X}</UploadId><Initiator><ID>"
            f"domain/owner:user/uploader</ID></Initiator><Owner><ID>owner</ID></Owner>"
            f"<StorageClass>STANDARD</StorageClass><Initiated>{stamp}</Initiated></Upload>"
            for i in listed
        )
        truncated = index < self.count
        last = f"sweep/{listed[-1]:09d}" if truncated and listed else ""
        last_id = f"{listed[-1]:032X}" if truncated and listed else ""
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="{NS}">'
            f"<Bucket>{self.BUCKET}</Bucket><NextKeyMarker>{last}</NextKeyMarker>"
            f"<NextUploadIdMarker>{last_id}</NextUploadIdMarker><MaxUploads>{limit}</MaxUploads>"
            f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{items}</ListMultipartUploadsResult>"
        )
        return 200, self._headers(), body


def main(argv: list[str] | None = None) -> int:
    """Serve a synthetic bucket in its own process (benchmarks: its CPU is not ours)."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--uploads", type=int, default=10_000)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    state = SyntheticObs(args.uploads, delay_s=args.delay_ms / 1000)
    with serve(state) as served:
        print(json.dumps({"endpoint": served.endpoint}), flush=True)
        command = sys.stdin.readline()  # a line asks for the counts; EOF stops the server
        while command:
            # The stand-in's own CPU: a benchmark shows the server was not the bottleneck.
            print(json.dumps({"aborted": state.aborted_count(), "double_aborts": state.double_aborts,
                              "requests": dict(state.requests), "kinds": dict(state.kinds),
                              "peak_in_flight": state.peak_in_flight,
                              "cpu_s": time.process_time()}), flush=True)
            command = sys.stdin.readline()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
