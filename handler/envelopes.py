"""Recognising what FunctionGraph delivered, and unwrapping the payload inside it.

Abandonment payloads arrive directly, or wrapped by APIG (``body``, often base64), SMN
(``record[].smn.message``) or EventGrid/CloudEvents (``data``); timer and OBS object
events go to the sweeps (reference §2.8). Nothing here validates fields: that is
``events.py``'s job, item by item.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Literal

ACCEPTED_SHAPES = (
    "an abandonment {bucket, objectKey, uploadId}; a batch {uploads: [...]} of 1-1000 of them; "
    "either wrapped by APIG (body), SMN (record[].smn.message) or a CloudEvent (data); "
    "a TIMER trigger event; an OBS object event (Records[].s3 or Records[].obs, or EventGrid "
    "data.obs); a sweep resumption {continuation: {...}}; a fan-out shard {fanout: {...}}"
)

Kind = Literal["abandonment", "timer", "object", "continuation", "fanout", "invalid"]


@dataclass(frozen=True)
class Envelope:
    """What the handler should do with an event.

    For abandonments, ``items`` are the raw (unvalidated) uploads and ``single`` says
    whether the reply is one GetResult or a batch report; ``apig`` asks for APIG's reply.
    """

    kind: Kind
    items: list[Any] = field(default_factory=list)
    single: bool = False
    apig: bool = False
    problem: str | None = None
    source: Any = None


def _invalid(problem: str, *, apig: bool = False) -> Envelope:
    return Envelope("invalid", problem=f"{problem}. Accepted: {ACCEPTED_SHAPES}", apig=apig)


def _abandonment(payload: Any, *, apig: bool = False) -> Envelope:
    """A direct payload: one upload, or ``{"uploads": [...]}``."""
    if not isinstance(payload, dict):
        return _invalid(f"the payload is a {type(payload).__name__}, not a JSON object", apig=apig)
    if "uploads" in payload:
        uploads = payload["uploads"]
        if not isinstance(uploads, list):
            return _invalid("uploads must be a list", apig=apig)
        if not 1 <= len(uploads) <= 1000:
            return _invalid(f"a batch holds 1-1000 uploads, not {len(uploads)}", apig=apig)
        return Envelope("abandonment", items=list(uploads), apig=apig)
    if any(k in payload for k in ("bucket", "bucketName", "bucket_name", "uploadId", "upload_id")):
        return Envelope("abandonment", items=[payload], single=True, apig=apig)
    return _invalid("the object is not an abandonment event", apig=apig)


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _apig(event: dict[str, Any]) -> Envelope:
    body = event.get("body")
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _invalid("the APIG body is not valid base64 UTF-8", apig=True)
    payload = _json(body)
    if payload is None:
        return _invalid("the APIG body is not JSON", apig=True)
    return _abandonment(payload, apig=True)


def _smn(records: list[Any]) -> Envelope:
    messages = [r.get("smn", {}).get("message") if isinstance(r, dict) else None for r in records]
    inner = [_abandonment(_json(message)) for message in messages]
    if len(inner) == 1:
        return inner[0]
    items: list[Any] = []
    for message, envelope in zip(messages, inner, strict=True):
        # An unusable record becomes one item that fails validation on its own.
        items.extend([message] if envelope.kind == "invalid" else envelope.items)
    return Envelope("abandonment", items=items)


def _is_smn(event: dict[str, Any]) -> bool:
    records = event.get("record")
    return (isinstance(records, list) and bool(records) and isinstance(records[0], dict)
            and records[0].get("event_source") == "smn")


def _is_object_records(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (isinstance(records, list) and bool(records)
            and all(isinstance(r, dict) and ("s3" in r or "obs" in r) for r in records))


def classify(event: Any) -> Envelope:
    """Decide what an event is, without validating its fields."""
    if not isinstance(event, dict):
        return _invalid(f"the event is {'null' if event is None else type(event).__name__}")
    if event.get("trigger_type") == "TIMER":
        return Envelope("timer", source=event)
    if "continuation" in event and len(event) <= 2:
        return Envelope("continuation", source=event)
    if "fanout" in event and len(event) == 1:
        return Envelope("fanout", source=event)
    if _is_object_records(event):
        return Envelope("object", source=event)
    if "specversion" in event and "data" in event:
        data = event.get("data")
        if isinstance(data, dict) and "obs" in data:
            return Envelope("object", source=event)
        return _abandonment(_json(data))
    if "httpMethod" in event and "requestContext" in event:
        return _apig(event)
    if _is_smn(event):
        return _smn(event["record"])
    if not event:
        return _invalid("the event is an empty object")
    return _abandonment(event)
