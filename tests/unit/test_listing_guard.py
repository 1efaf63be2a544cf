"""ListingGuard: a listing is acted on only while its markers move forward, and each
upload is handed out once."""

from __future__ import annotations

import pytest

from handler.obs.listings import Upload
from handler.sweep.engine import ListingGuard


def up(key: str, upload_id: str = "u1") -> Upload:
    return Upload(key=key, uploadId=upload_id)


# (request markers, upload) -> first time?
FIRST = {
    "no marker": ((None, None), up("a"), True),
    "after the key marker": (("b", "u1"), up("c"), True),
    "on the key marker (another upload of it)": (("b", "u1"), up("b", "u2"), True),
    # A continuation's marker: the first page may be a server's full, unsorted re-listing.
    "behind a continuation's key marker": (("b", "u1"), up("a"), True),
}


def test_behind_a_marker_the_server_handed_out() -> None:
    guard = ListingGuard()
    assert guard.advance((None, None), ("b", "u1")) is None
    assert not guard.first_time(up("a"), ("b", "u1"))
    assert guard.first_time(up("c"), ("b", "u1"))


@pytest.mark.parametrize(("markers", "upload", "first"), list(FIRST.values()), ids=list(FIRST))
def test_first_time_against_the_request_marker(markers: tuple[str | None, str | None],
                                               upload: Upload, first: bool) -> None:
    assert ListingGuard().first_time(upload, markers) is first


def test_an_upload_is_handed_out_once_per_page_and_across_one_page_boundary() -> None:
    guard = ListingGuard()
    none = (None, None)
    assert guard.first_time(up("a"), none)
    assert not guard.first_time(up("a"), none)          # repeated on the same page
    assert guard.first_time(up("a", "u2"), none)        # another upload of the same key
    assert guard.advance(none, ("a", "u2")) is None
    assert not guard.first_time(up("a", "u2"), ("a", "u2"))  # the last page's, again
    assert guard.first_time(up("b"), ("a", "u2"))
    assert guard.advance(("a", "u2"), ("b", "u1")) is None
    assert guard.advance(("b", "u1"), ("c", "u1")) is None
    # Two pages on, the guard no longer remembers "a"; the key marker keeps it out.
    assert not guard.first_time(up("a", "u2"), ("c", "u1"))


# (old markers, new markers) -> the problem, or None
ADVANCE = {
    "a new key": (("a", "u1"), ("b", "u1"), None),
    "from the start": ((None, None), ("a", "u1"), None),
    "the same key, another upload": (("a", "u1"), ("a", "u2"), None),
    "no next key marker": (("a", "u1"), (None, None), "did not advance: a truncated page gave no NextKeyMarker"),
    "an empty next key marker": (("a", "u1"), ("", "u2"), "did not advance: a truncated page gave no NextKeyMarker"),
    "backwards": (("b", "u1"), ("a", "u9"), "NextKeyMarker went backwards ('b' -> 'a')"),
    "the same markers": (("a", "u1"), ("a", "u1"), "markers did not advance past 'a'"),
    "the same key without an upload marker": (("a", "u1"), ("a", None), "markers did not advance past 'a'"),
}


@pytest.mark.parametrize(("old", "new", "problem"), list(ADVANCE.values()), ids=list(ADVANCE))
def test_advance(old: tuple[str | None, str | None], new: tuple[str | None, str | None],
                 problem: str | None) -> None:
    result = ListingGuard().advance(old, new)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


def test_a_key_marker_cycling_through_its_upload_ids_is_caught() -> None:
    """a/u1 -> a/u2 -> a/u1: each step differs from the one before, but it is a loop."""
    guard = ListingGuard()
    assert guard.advance((None, None), ("a", "u1")) is None
    assert guard.advance(("a", "u1"), ("a", "u2")) is None
    problem = guard.advance(("a", "u2"), ("a", "u1"))
    assert problem is not None and "did not advance past 'a'" in problem


def test_a_new_key_forgets_the_upload_ids_of_the_old_one() -> None:
    guard = ListingGuard()
    assert guard.advance((None, None), ("a", "u1")) is None
    assert guard.advance(("a", "u1"), ("b", "u1")) is None
    assert guard.advance(("b", "u1"), ("b", "u2")) is None
