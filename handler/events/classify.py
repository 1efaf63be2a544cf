"""Recognising what FunctionGraph delivered, and unwrapping the payload inside it.

Abandonment payloads arrive directly, or wrapped by APIG (``body``, often base64), SMN
(``record[].smn.message``) or EventGrid/CloudEvents (``data``); timer, object, resumption
and fan-out events go to the sweeps (docs/functiongraph.md, "Triggers"). ``classify``
returns one typed value per kind; the fields inside are validated by the route that owns
the kind, with the models next to this module.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from handler.events.abandonment import MAX_BATCH
from handler.events.errors import InvalidEvent, kind_of, parse_json_text

ACCEPTED_SHAPES = (
    "an abandonment {bucket, objectKey, uploadId}; a batch {uploads: [...]} of 1-1000 of them; "
    "either wrapped by APIG (body), SMN (record[].smn.message) or a CloudEvent (data); "
    "a TIMER trigger event; an OBS object event (Records[].s3 or Records[].obs, or EventGrid "
    "data.obs); a sweep resumption {continuation: {...}}; a fan-out shard {fanout: {...}}"
)
_ID_FIELDS = ("bucket", "bucketName", "bucket_name", "uploadId", "upload_id")


@dataclass(frozen=True, slots=True)
class Abandonment:
    """Uploads to abort: raw items (validated one by one), one reply or a batch report."""

    items: list[Any]
    single: bool
    apig: bool = False


@dataclass(frozen=True, slots=True)
class Unusable:
    """A batch item that could not even be read (an SMN record without a message): it is
    rejected on its own, with this problem, and the rest of the batch goes ahead."""

    problem: str


@dataclass(frozen=True, slots=True)
class Timer:
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Resumption:
    """``{"continuation": {...}}``: a sweep handed back by an earlier invocation."""

    continuation: Any


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FanoutLink:
    """``{"fanout": {...}}``: one link of a fan-out chain."""

    chain: Any


@dataclass(frozen=True, slots=True)
class Invalid:
    problem: str
    apig: bool = False


Classified = Abandonment | Timer | Resumption | ObjectEvent | FanoutLink | Invalid


def _invalid(problem: str, *, apig: bool = False) -> Invalid:
    return Invalid(f"{problem}. Accepted: {ACCEPTED_SHAPES}", apig=apig)


def _abandonment(payload: Any, *, apig: bool = False) -> Abandonment | Invalid:
    """A direct payload: one upload, or ``{"uploads": [...]}``."""
    if not isinstance(payload, dict):
        return _invalid(f"the payload is {kind_of(payload)}, not a JSON object", apig=apig)
    if "uploads" in payload:
        uploads = payload["uploads"]
        if not isinstance(uploads, list):
            return _invalid("uploads must be a list", apig=apig)
        if not 1 <= len(uploads) <= MAX_BATCH:
            return _invalid(f"a batch holds 1-{MAX_BATCH} uploads, not {len(uploads)}", apig=apig)
        return Abandonment(list(uploads), single=False, apig=apig)
    if any(k in payload for k in _ID_FIELDS):
        return Abandonment([payload], single=True, apig=apig)
    return _invalid("the object is not an abandonment event", apig=apig)


def _apig(event: dict[str, Any]) -> Abandonment | Invalid:
    body = event.get("body")
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _invalid("the APIG body is not valid base64 UTF-8", apig=True)
    if body is None:
        return _invalid("the APIG body is not JSON", apig=True)
    try:
        payload = parse_json_text(body, "body")
    except InvalidEvent as exc:
        return _invalid(f"the APIG {exc}", apig=True)
    return _abandonment(payload, apig=True)


def _smn_payload(index: int, record: Any) -> Any:
    """The abandonment JSON of one SMN record; InvalidEvent naming what is missing."""
    where = f"record[{index}]"
    if not isinstance(record, dict):
        raise InvalidEvent(f"{where}: must be a JSON object, not {kind_of(record)}")
    smn = record.get("smn")
    if not isinstance(smn, dict):
        raise InvalidEvent(f"{where}.smn: must be a JSON object, not {kind_of(smn)}")
    message = smn.get("message")
    if not isinstance(message, (str, dict)):
        raise InvalidEvent(f"{where}.smn.message: must be JSON text, not {kind_of(message)}")
    # An object where JSON text belongs is read like its text (as a timer's user_event).
    return parse_json_text(message, f"{where}.smn.message")


def _smn(records: list[Any]) -> Abandonment | Invalid:
    """SMN records; several make one batch, an unusable record one item that fails."""
    if len(records) == 1:
        try:
            return _abandonment(_smn_payload(0, records[0]))
        except InvalidEvent as exc:
            return _invalid(str(exc))
    items: list[Any] = []
    for index, record in enumerate(records):
        try:
            inner = _abandonment(_smn_payload(index, record))
        except InvalidEvent as exc:
            inner = Invalid(str(exc))
        # An unusable record becomes one item that fails validation on its own, saying why.
        items.extend(inner.items if isinstance(inner, Abandonment) else [Unusable(inner.problem)])
        if len(items) > MAX_BATCH:
            return _invalid(f"a batch holds 1-{MAX_BATCH} uploads, not more (across "
                            f"{len(records)} SMN records)")
    return Abandonment(items, single=False)


def _is_smn(event: dict[str, Any]) -> bool:
    records = event.get("record")
    return (isinstance(records, list) and bool(records) and isinstance(records[0], dict)
            and records[0].get("event_source") == "smn")


def _is_object_records(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (isinstance(records, list) and bool(records)
            and all(isinstance(r, dict) and ("s3" in r or "obs" in r) for r in records))


def _cloud_event(event: dict[str, Any]) -> Classified:
    data = event.get("data")
    if isinstance(data, dict) and "obs" in data:
        return ObjectEvent(event)
    try:
        return _abandonment(parse_json_text(data, "data"))
    except InvalidEvent as exc:
        return _invalid(str(exc))


def classify(event: Any) -> Classified:
    """Decide what an event is, without validating its fields."""
    if not isinstance(event, dict):
        return _invalid(f"the event is {kind_of(event)}")
    if event.get("trigger_type") == "TIMER":
        return Timer(event)
    # A resumption or a fan-out link is exactly that key (and, for a resumption, one
    # other key a caller may add, such as a comment): anything more is another shape.
    if "continuation" in event and len(event) <= 2:
        return Resumption(event["continuation"])
    if "fanout" in event and len(event) == 1:
        return FanoutLink(event["fanout"])
    if _is_object_records(event):
        return ObjectEvent(event)
    if "specversion" in event and "data" in event:
        return _cloud_event(event)
    if "httpMethod" in event and "requestContext" in event:
        return _apig(event)
    if _is_smn(event):
        return _smn(event["record"])
    if not event:
        return _invalid("the event is an empty object")
    return _abandonment(event)
