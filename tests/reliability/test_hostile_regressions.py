"""Hostile-input regressions: each case failed against an earlier handler.

Each docstring says what went wrong before the fix (edge-of-time timestamps, a logger
property that raises, deep or non-object SMN payloads, the age floor blamed on the event,
an UploadId of spaces, invalid items' fields written raw to the log).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.hostile import BUCKET, Entry, Page, hostile_context, iso, now
from tests.reliability.test_hostile_inputs import (
    ABORT,
    DEEP_TEXT,
    NOT_OBJECTS,
    _deep_object,
    against_obs,
    invalid,
)
from tests.reliability.test_hostile_listings import (
    FAST,
    OLD,
    check_edge_initiated,
    check_edge_part,
    old,
    sweep,
)
from tests.reliability.test_hostile_server import (
    FOREIGN_LOGGED_TODAY,
    check_foreign_value_not_logged,
)
from tests.reliability.test_hostile_settings import refused, swept

EDGE_OVERFLOW = {
    "year 1 at +14:00": "0001-01-01T00:00:00+14:00",
    "year 9999 at -14:00": "9999-12-31T23:59:59-14:00",
}


@pytest.mark.parametrize("name", sorted(EDGE_OVERFLOW))
def test_listing_initiated_at_the_edge_of_time(name: str) -> None:
    """OverflowError from parse_timestamp's astimezone sinks the sweep as a 500."""
    check_edge_initiated(name, EDGE_OVERFLOW[name])


@pytest.mark.parametrize("name", sorted(EDGE_OVERFLOW))
def test_part_modified_at_the_edge_of_time(name: str) -> None:
    """OverflowError from parse_timestamp (ListParts LastModified) sinks the sweep as a 500."""
    check_edge_part(name, EDGE_OVERFLOW[name])


class PropertyLogger:
    """A logger whose ``info`` attribute is a property that raises."""

    @property
    def info(self) -> Any:
        raise RuntimeError("logger attribute")


def test_a_logger_whose_info_property_raises() -> None:
    """DecisionLog's getattr(logger, "info") lets the property's RuntimeError out: 500."""
    context = hostile_context()
    context.logger = PropertyLogger()  # type: ignore[assignment]
    reply, server = against_obs(ABORT, context)
    assert reply["status"] == 204 and len(server.deletes) == 1, reply


def test_a_deep_user_event_object_names_user_event() -> None:
    """The refusal says "timer event: nested deeper…", not which field: user_event."""
    event = {"trigger_type": "TIMER", "user_event": {"buckets": _deep_object(5000)}}
    reply, server = against_obs(event, hostile_context())
    invalid(reply, "user_event")
    assert server.sent == []


@pytest.mark.parametrize("shape", sorted(DEEP_TEXT))
def test_deep_json_in_several_smn_records_names_smn_message(shape: str) -> None:
    """Each record's entry says "an upload must be a JSON object, not a string", not why."""
    event = {"record": [{"event_source": "smn", "smn": {"message": DEEP_TEXT[shape]}}] * 2}
    reply, server = against_obs(event, hostile_context())
    for entry in reply["results"]:
        assert "smn.message" in entry["result"]["errorMessage"], entry["result"]["errorMessage"]
    assert server.sent == []


@pytest.mark.parametrize("name", sorted(NOT_OBJECTS))
def test_a_non_object_smn_names_smn(name: str) -> None:
    """The refusal says "the payload is null", naming neither smn nor smn.message."""
    reply, server = against_obs({"record": [{"event_source": "smn", "smn": NOT_OBJECTS[name]}]},
                                hostile_context())
    invalid(reply, "smn")
    assert server.sent == []


def test_sweep_min_age_below_the_floor_is_the_configurations_fault() -> None:
    """SWEEP_MIN_AGE=24h under SWEEP_MIN_AGE_FLOOR=48h is blamed on the event (400), not
    reported as a ConfigError naming SWEEP_MIN_AGE."""
    reply, server = swept({"trigger_type": "TIMER", "user_event": ""},
                          hostile_context(SWEEP_BUCKETS=BUCKET, SWEEP_MIN_AGE="24h",
                                          SWEEP_MIN_AGE_FLOOR="48h"))
    refused(reply, 500, "ConfigError", "SWEEP_MIN_AGE")
    assert server.sent == []


def test_a_listed_upload_id_of_spaces_is_not_acted_on() -> None:
    """The engine checks `not upload.uploadId`; "   " passes and is DELETEd (?uploadId=%20%20%20)."""
    bad = Entry("k", "   ", iso(now() - OLD))
    reply, server = sweep({None: Page([bad, old("good.bin", "1" * 32)])}, {"min_age": "24h", **FAST})
    assert [s.key for s in server.deletes] == ["good.bin"], server.deletes
    assert reply["errors"]


@pytest.mark.parametrize("wrapped", ["single", "batch"])
@pytest.mark.parametrize("field", sorted(FOREIGN_LOGGED_TODAY))
def test_a_foreign_secret_in_a_field_valid_on_its_own_is_not_logged(field: str,
                                                                   wrapped: str) -> None:
    """identify() logs an invalid item's key (any 1-1024 chars) and relaxed uploadId raw."""
    check_foreign_value_not_logged(field, wrapped)
