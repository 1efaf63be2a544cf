"""What the hostile-server and hostile-input tests share: a scripted OBS, checks, figures.

``ScriptedObs`` answers ListMultipartUploads with pages a test writes by hand (any Date,
any markers, entries without Key or UploadId, keys outside the prefix, repeats), keeps
what it was asked, and forgets an upload once it is aborted, so the engine's confirming
re-listing sees what a real server would show. Every check here also feeds the figures
of reliability/REPORT.md: a test that sees the bad thing counts it before it fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit
from xml.sax.saxutils import escape

from tests.conftest import _SEEN, ENDPOINT, FakeContext, invoke
from tests.reliability.metrics import FIGURES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import responses

BUCKET = "examplebucket"
HOST = f"{BUCKET}.obs.cn-north-4.myhuaweicloud.com"
ANY_URL = re.compile(r"https?://.*")
VALID_ID = "000001648453845DBB78F2340DD460AB"
# FunctionGraph's synchronous reply limit (6 MB), measured as the issue measures it.
REPLY_LIMIT = 6 * 1000 * 1000
NS = "http://obs.cn-north-4.myhuaweicloud.com/doc/2015-06-30/"


def now() -> datetime:
    return datetime.now(timezone.utc)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def hostile_context(**user_data: str) -> FakeContext:
    """The conftest context on the public endpoint, no retries (each fault is seen once)."""
    return FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": BUCKET,
                                  "OBS_MAX_RETRY_COUNT": "0", **user_data})


def timer(**settings: Any) -> dict[str, Any]:
    """A TIMER event whose user_event is these settings as JSON text."""
    settings.setdefault("buckets", [BUCKET])
    return {"trigger_type": "TIMER", "trigger_name": "mpu-sweep",
            "user_event": json.dumps(settings)}


# -- what leaves the function -------------------------------------------------------------

def checked(reply: Any) -> dict[str, Any]:
    """Every reply is a JSON-ready dict (no NaN) within 6 MB; counted when it is not."""
    if not isinstance(reply, dict):
        FIGURES["unhandled exceptions"] += 1
        raise AssertionError(f"the handler returned {type(reply).__name__}, not a dict")
    text = json.dumps(reply, ensure_ascii=False, allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > REPLY_LIMIT:
        FIGURES["replies over 6 MB"] += 1
    assert size <= REPLY_LIMIT, f"reply of {size:,} bytes"
    if reply.get("errorCode") == "InternalError":
        FIGURES["unhandled exceptions"] += 1
    return reply


def run(event: Any, context: Any) -> dict[str, Any]:
    """``invoke`` (the session's leak check sees the reply) plus the checks above."""
    return checked(invoke(event, context))


def forms(secret: str) -> set[str]:
    """The spellings of a secret a server may echo: raw, URL-encoded, XML-escaped."""
    return {secret, quote(secret, safe=""), quote(secret, safe="/"), quote_plus(secret),
            escape(secret), escape(secret, {'"': "&quot;", "'": "&apos;"})}


def echoed(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Which spellings of ``secrets`` appear in ``texts``; each found one is counted."""
    found = []
    spellings = {form for secret in secrets for form in forms(secret)}
    for text in texts:
        hits = sorted(form for form in spellings if form in text)
        if hits:
            found.append(f"{hits[0]!r} in {text[:160]!r}")
    FIGURES["secrets echoed by the server"] += len(found)
    return found


def outputs(reply: Any, context: FakeContext, *extra: str) -> list[str]:
    """The reply (and, for APIG, its body's JSON), the log lines and anything else given."""
    texts = [json.dumps(reply, ensure_ascii=False), *context.logger.lines, *extra]
    if isinstance(reply, dict) and isinstance(reply.get("body"), str):
        texts.append(reply["body"])
    return texts


# -- what reached the server --------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    method: str
    bucket: str | None
    key: str | None  # None: the bucket's own URL (a listing, or a bug)
    query: dict[str, str]

    @property
    def targets_upload(self) -> bool:
        """An abort or ListParts: a request about one upload."""
        return "uploadId" in self.query or self.method == "DELETE"


def parse_sent(method: str, url: str) -> Sent:
    """What a request was about, for virtual-host and path-style URLs alike."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = parts.hostname or ""
    path = parts.path
    if host.endswith(".obs.cn-north-4.myhuaweicloud.com"):
        bucket: str | None = host.split(".", 1)[0]
        key = path[1:]
    else:  # path-style: /bucket/key
        _, _, rest = path.partition("/")
        bucket, _, key = rest.partition("/")
    return Sent(method, bucket, unquote(key) if key else None, query)


def count_keyless(sent: Iterable[Sent]) -> int:
    """Requests about one upload that name no key or no uploadId: counted and returned."""
    bad = [s for s in sent if s.targets_upload and (not s.key or not s.query.get("uploadId", "").strip())]
    FIGURES["requests without key or uploadId"] += len(bad)
    return len(bad)


# -- a listing written by hand --------------------------------------------------------------

@dataclass
class Entry:
    """One ``<Upload>`` of a scripted page; None leaves the element out."""

    key: str | None
    upload_id: str | None
    initiated: str | None
    initiator: str = "domain/owner:user/uploader"


@dataclass
class Page:
    entries: list[Entry]
    truncated: bool = False
    next_key: str | None = None
    next_id: str | None = None
    date: str | Callable[[], str | None] | None = None  # None: the real time now

    def date_header(self) -> str | None:
        value = self.date() if callable(self.date) else self.date
        return http_date(now()) if value is None else (value or None)


@dataclass
class ScriptedObs:
    """Pages by the key-marker that asks for them (None: the first request)."""

    pages: dict[str | None, Page]
    # ListParts: (part LastModified, Date header) for every upload, unless a test says
    parts: Callable[[str, str], tuple[list[str], str | None]] | None = None
    delete_status: int = 204
    delete_body: str = ""
    sent: list[Sent] = field(default_factory=list)
    aborted: list[tuple[str, str]] = field(default_factory=list)

    def install(self, mock: responses.RequestsMock) -> None:
        for method in ("GET", "DELETE"):
            mock.add_callback(method, ANY_URL, callback=self._callback(method))

    def _callback(self, method: str) -> Callable[[Any], tuple[int, dict[str, str], str]]:
        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            sent = parse_sent(method, request.url)
            self.sent.append(sent)
            if method == "DELETE":
                return self._abort(sent)
            if "uploads" in sent.query:
                return self._listing(sent.query)
            return self._list_parts(sent)
        return answer

    @property
    def deletes(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "DELETE"]

    @property
    def listings(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "GET" and "uploads" in s.query]

    def _listing(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        page = self.pages.get(query.get("key-marker") or None)
        if page is None:
            return 200, {"Date": http_date(now())}, (
                f'<ListMultipartUploadsResult xmlns="{NS}"><Bucket>{BUCKET}</Bucket>'
                "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>")
        gone = set(self.aborted)
        items = []
        for e in page.entries:
            if (e.key, e.upload_id) in gone:
                continue
            item = "<Upload>"
            item += "" if e.key is None else f"<Key>{quote(e.key, safe='/')}</Key>"
            item += "" if e.upload_id is None else f"<UploadId>{escape(e.upload_id)}</UploadId>"
            item += f"<Initiator><ID>{escape(e.initiator)}</ID></Initiator>"
            item += "<StorageClass>STANDARD</StorageClass>"
            item += "" if e.initiated is None else f"<Initiated>{e.initiated}</Initiated>"
            items.append(item + "</Upload>")
        markers = ""
        if page.next_key is not None:
            markers += f"<NextKeyMarker>{quote(page.next_key, safe='/')}</NextKeyMarker>"
        if page.next_id is not None:
            markers += f"<NextUploadIdMarker>{page.next_id}</NextUploadIdMarker>"
        body = (f'<ListMultipartUploadsResult xmlns="{NS}"><Bucket>{BUCKET}</Bucket>'
                f"<EncodingType>url</EncodingType>{markers}<MaxUploads>1000</MaxUploads>"
                f"<IsTruncated>{str(page.truncated).lower()}</IsTruncated>{''.join(items)}"
                "</ListMultipartUploadsResult>")
        headers = {"Content-Type": "application/xml"}
        date = page.date_header()
        if date is not None:
            headers["Date"] = date
        return 200, headers, body

    def _list_parts(self, sent: Sent) -> tuple[int, dict[str, str], str]:
        key, upload_id = sent.key or "", sent.query.get("uploadId", "")
        if (key, upload_id) in set(self.aborted):
            return 404, {"Content-Type": "application/xml"}, (
                "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>")
        stamps, date = self.parts(key, upload_id) if self.parts else (
            [iso(now() - timedelta(days=30))], None)
        items = "".join(f"<Part><PartNumber>{n}</PartNumber><LastModified>{t}</LastModified>"
                        f'<ETag>"e{n}"</ETag><Size>5242880</Size></Part>'
                        for n, t in enumerate(stamps, 1))
        body = (f'<ListPartsResult xmlns="{NS}"><Bucket>{BUCKET}</Bucket>'
                f"<Key>{quote(key, safe='/')}</Key><UploadId>{upload_id}</UploadId>"
                "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
                f"{items}</ListPartsResult>")
        return 200, {"Content-Type": "application/xml", "Date": date or http_date(now())}, body

    def _abort(self, sent: Sent) -> tuple[int, dict[str, str], str]:
        if self.delete_status < 300:
            self.aborted.append((sent.key or "", sent.query.get("uploadId", "")))
            return self.delete_status, {}, ""
        return self.delete_status, {"Content-Type": "application/xml"}, self.delete_body


def keep_text(*texts: object) -> None:
    """Hand stderr, exception texts and reprs to the session's secret check."""
    _SEEN.extend(str(text) for text in texts)
