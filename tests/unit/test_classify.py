"""classify: which kind each inbound shape is, and the refusal text of those it is not.

Classification does not validate fields (the route that owns a kind does), so a sample
with a bad bucket name is still an abandonment here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from handler.events.classify import (
    ACCEPTED_SHAPES,
    Abandonment,
    FanoutLink,
    Invalid,
    ObjectEvent,
    Resumption,
    Timer,
    Unusable,
    classify,
)
from tests.conftest import EVENTS, load_event

# sample -> (kind, single, apig, number of items) ; single/apig/items only for Abandonment
SAMPLES: dict[str, tuple[type, bool | None, bool | None, int | None]] = {
    "abort.json": (Abandonment, True, False, 1),
    "abort-aliases.json": (Abandonment, True, False, 1),
    "abort-batch.json": (Abandonment, False, False, 3),
    "apig.json": (Abandonment, True, True, 1),
    "apig-plain-batch.json": (Abandonment, False, True, 1),
    "cloudevent-abort.json": (Abandonment, True, False, 1),
    "smn.json": (Abandonment, True, False, 1),
    "smn-multi.json": (Abandonment, False, False, 2),
    "invalid-bucket-name.json": (Abandonment, True, False, 1),
    "invalid-header-injection.json": (Abandonment, True, False, 1),
    "invalid-ip-bucket.json": (Abandonment, True, False, 1),
    "invalid-missing-field.json": (Abandonment, True, False, 1),
    "invalid-short-upload-id.json": (Abandonment, True, False, 1),
    "invalid-wrong-types.json": (Abandonment, True, False, 1),
    "invalid-empty-batch.json": (Invalid, None, False, None),
    "invalid-empty-object.json": (Invalid, None, False, None),
    "invalid-list.json": (Invalid, None, False, None),
    "invalid-null.json": (Invalid, None, False, None),
    "invalid-string.json": (Invalid, None, False, None),
    "invalid-unknown-shape.json": (Invalid, None, False, None),
    "timer.json": (Timer, None, None, None),
    "timer-fanout.json": (Timer, None, None, None),
    "continuation.json": (Resumption, None, None, None),
    "fanout-chain.json": (FanoutLink, None, None, None),
    "obs-trigger-s3.json": (ObjectEvent, None, None, None),
    "obs-trigger-obs.json": (ObjectEvent, None, None, None),
    "obs-trigger-removed.json": (ObjectEvent, None, None, None),
    "eventgrid-obs.json": (ObjectEvent, None, None, None),
}


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json")))
def test_every_sample_is_its_kind(name: str) -> None:
    assert name in SAMPLES, f"events/{name} has no row in SAMPLES"
    kind, single, apig, items = SAMPLES[name]
    got = classify(load_event(name))
    assert type(got) is kind
    if isinstance(got, Abandonment):
        assert (got.single, got.apig, len(got.items)) == (single, apig, items)
    if isinstance(got, Invalid):
        assert got.apig is apig and got.problem.endswith(f"Accepted: {ACCEPTED_SHAPES}")


def _apig(body: Any, *, b64: bool = False) -> dict[str, Any]:
    return {"httpMethod": "POST", "requestContext": {}, "body": body, "isBase64Encoded": b64}


def _smn(*messages: Any) -> dict[str, Any]:
    return {"record": [{"event_source": "smn", "smn": {"message": m}} for m in messages]}


UPLOAD = {"bucket": "examplebucket", "objectKey": "k", "uploadId": "0" * 32}

# event -> (problem text, apig)
HOSTILE: dict[str, tuple[Any, str, bool]] = {
    "null": (None, "the event is null", False),
    "list": ([UPLOAD], "the event is a list", False),
    "string": ("abort it", "the event is a string", False),
    "number": (3, "the event is a number", False),
    "boolean": (True, "the event is a boolean", False),
    "empty object": ({}, "the event is an empty object", False),
    "unknown object": ({"hello": "world"}, "the object is not an abandonment event", False),
    "uploads not a list": ({"uploads": {"0": UPLOAD}}, "uploads must be a list", False),
    "empty batch": ({"uploads": []}, "a batch holds 1-1000 uploads, not 0", False),
    "batch too big": ({"uploads": [UPLOAD] * 1001}, "a batch holds 1-1000 uploads, not 1001", False),
    "httpMethod None, no requestContext": ({"httpMethod": None}, "the object is not an abandonment event", False),
    "APIG without body": ({"httpMethod": "POST", "requestContext": {}}, "the APIG body is not JSON", True),
    "APIG body not JSON": (_apig("{"), "the APIG body: is not valid JSON", True),
    "APIG body a list": (_apig("[1]"), "the payload is a list, not a JSON object", True),
    "APIG bad base64": (_apig("not base64!", b64=True), "the APIG body is not valid base64 UTF-8", True),
    "APIG base64 not UTF-8": (_apig(base64.b64encode(b"\xff\xfe").decode(), b64=True),
                              "the APIG body is not valid base64 UTF-8", True),
    "APIG body nested too deep": (_apig("[" * 100 + "]" * 100), "the APIG body: nested deeper than 64 levels", True),
    "SMN message not JSON": (_smn("{"), "record[0].smn.message: is not valid JSON", False),
    "SMN records beyond a batch": (_smn(json.dumps({"uploads": [UPLOAD] * 600}),
                                        json.dumps({"uploads": [UPLOAD] * 600})),
                                   "a batch holds 1-1000 uploads, not more (across 2 SMN records)", False),
    "CloudEvent data not JSON": ({"specversion": "1.0", "data": "{"}, "data: is not valid JSON", False),
    "CloudEvent data a list": ({"specversion": "1.0", "data": [UPLOAD]},
                               "the payload is a list, not a JSON object", False),
    "Records of no object": ({"Records": [{"s3": {}}, {"sns": {}}]},
                             "the object is not an abandonment event", False),
    "continuation with two extra keys": ({"continuation": {}, "a": 1, "b": 2},
                                         "the object is not an abandonment event", False),
    "fanout with an extra key": ({"fanout": {}, "a": 1}, "the object is not an abandonment event", False),
}


@pytest.mark.parametrize(("event", "problem", "apig"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_shapes_are_invalid_with_the_problem(event: Any, problem: str, apig: bool) -> None:
    got = classify(event)
    assert isinstance(got, Invalid)
    assert got.problem.startswith(problem + ". Accepted: ")
    assert got.apig is apig


# event -> kind: the corner cases of the shapes that are accepted
ACCEPTED: dict[str, tuple[Any, type]] = {
    "timer with other keys": ({"trigger_type": "TIMER", "continuation": {}, "x": 1}, Timer),
    "continuation alone": ({"continuation": {"bucket": "b"}}, Resumption),
    "continuation and a comment": ({"continuation": {}, "comment": "resume"}, Resumption),
    "fanout alone": ({"fanout": {"run_id": "r"}}, FanoutLink),
    "Records of obs": ({"Records": [{"obs": {}}]}, ObjectEvent),
    "CloudEvent with data.obs": ({"specversion": "1.0", "data": {"obs": {}}}, ObjectEvent),
    "CloudEvent with an upload": ({"specversion": "1.0", "data": json.dumps(UPLOAD)}, Abandonment),
    "aliases only": ({"bucket_name": "b"}, Abandonment),
    "upload_id alone": ({"upload_id": "x"}, Abandonment),
    "APIG plain body": (_apig(json.dumps(UPLOAD)), Abandonment),
    "APIG base64 body": (_apig(base64.b64encode(json.dumps(UPLOAD).encode()).decode(), b64=True), Abandonment),
    "APIG body already an object": (_apig(UPLOAD), Abandonment),
    "a batch of 1000": ({"uploads": [UPLOAD] * 1000}, Abandonment),
}


@pytest.mark.parametrize(("event", "kind"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_accepted_corner_cases(event: Any, kind: type) -> None:
    assert type(classify(event)) is kind


def test_a_resumption_carries_its_continuation_and_a_link_its_chain() -> None:
    resumption = classify({"continuation": {"bucket": "b"}, "note": "x"})
    link = classify({"fanout": {"run_id": "r"}})
    assert isinstance(resumption, Resumption) and resumption.continuation == {"bucket": "b"}
    assert isinstance(link, FanoutLink) and link.chain == {"run_id": "r"}


def test_an_unusable_smn_record_in_several_becomes_one_failing_item() -> None:
    got = classify(_smn(json.dumps(UPLOAD), "{", json.dumps({"uploads": [UPLOAD, UPLOAD]})))
    assert isinstance(got, Abandonment) and not got.single
    assert got.items == [UPLOAD, Unusable("record[1].smn.message: is not valid JSON"), UPLOAD, UPLOAD]
