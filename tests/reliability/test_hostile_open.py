"""Issue 11 cases that FAIL against the current handler: real defects, kept apart.

Each test here asserts what the issue requires and fails today; the one-line reason is
in its docstring. They are not xfail: when a fix lands they pass, and then they belong
with their class in the other test_hostile_* files.
"""

from __future__ import annotations

import pytest

from tests.reliability.test_hostile_listings import check_edge_initiated, check_edge_part

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
