"""The abandonment schema (pydantic-core, handler/events/abandonment.py) against the
BaseModel it stands for (tests/support/abandonment_model.py): same verdict, same fields,
same error text, for every input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.events.abandonment import AbandonedUpload, parse_upload
from handler.events.errors import InvalidEvent, validate
from tests.support.abandonment_model import AbandonedUploadModel

FIELD_NAMES = ("bucket", "bucketName", "bucket_name", "objectKey", "key", "object_key",
               "uploadId", "upload_id", "reason", "extensionHeaders", "other")
VALID = {"bucket": "examplebucket", "objectKey": "a/b.bin", "uploadId": "0" * 32}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.sampled_from(["examplebucket", "ex..ample", "192.168.1.1", "0" * 32, "x" * 1025, "",
                     "upload.id+1", "a b", "x-obs-meta-a", "x-obs-date", "\x1b"]),
    st.text(max_size=40),
)
headers = st.dictionaries(
    st.sampled_from(["x-obs-meta-a", "X-OBS-ACL", "x-obs-security-token", "content-type",
                     "x-obs-\u212a", "x-obs-"]),
    st.one_of(st.text(max_size=10), st.integers(), st.none()), max_size=22)
items = st.dictionaries(st.sampled_from(FIELD_NAMES),
                        st.one_of(scalars, headers, st.lists(scalars, max_size=2)))
near_valid = st.builds(lambda extra: {**VALID, **extra}, items)


def _by_model(item: dict[str, Any], relaxed: bool) -> tuple[str, Any]:
    try:
        model = validate(AbandonedUploadModel, item, "upload", {"relaxed_upload_id": relaxed})
    except InvalidEvent as exc:
        return "invalid", str(exc)
    return "valid", AbandonedUpload(**model.model_dump())


def _by_schema(item: dict[str, Any], relaxed: bool) -> tuple[str, Any]:
    try:
        return "valid", parse_upload(item, relaxed_upload_id=relaxed)
    except InvalidEvent as exc:
        return "invalid", str(exc)


@settings(max_examples=600, deadline=None)
@given(item=st.one_of(items, near_valid), relaxed=st.booleans())
def test_the_schema_judges_every_item_as_the_model_does(item: dict[str, Any],
                                                        relaxed: bool) -> None:
    assert _by_schema(item, relaxed) == _by_model(item, relaxed)


@pytest.mark.parametrize(("item", "message"), [
    ({}, "upload: bucket: Field required; objectKey: Field required; uploadId: Field required"),
    ({**VALID, "bucket": "Example"}, "upload: bucket: must be 3-63 characters"),
    ({**VALID, "objectKey": ""}, "upload: objectKey: String should have at least 1 character"),
    ({**VALID, "uploadId": 7}, "upload: uploadId: Input should be a valid string"),
    ({**VALID, "extensionHeaders": {"x-obs-date": "x"}},
     "upload: extensionHeaders: x-obs-date may not be set by an event"),
])
def test_errors_name_the_field_and_never_the_input(item: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        parse_upload(item, relaxed_upload_id=False)
    assert str(raised.value).startswith(message)
    for value in item.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in str(raised.value).removeprefix(message)


def test_aliases_and_defaults_give_the_sdk_field_names() -> None:
    upload = parse_upload({"bucket_name": "examplebucket", "key": "k", "upload_id": "0" * 32,
                           "unknown": 1}, relaxed_upload_id=False)
    assert upload == AbandonedUpload("examplebucket", "k", "0" * 32, None, None)
    with pytest.raises(AttributeError):
        upload.bucket = "other"  # type: ignore[misc]


def test_a_raw_validation_error_does_not_quote_the_input() -> None:
    from pydantic_core import ValidationError

    from handler.events.abandonment import _VALIDATOR

    pasted = "SK-pasted-into-the-wrong-field"
    try:
        _VALIDATOR.validate_python({"bucket": pasted, "objectKey": "k", "uploadId": pasted})
    except ValidationError as exc:
        assert pasted not in str(exc) and pasted not in repr(exc), str(exc)
    else:
        raise AssertionError("expected a ValidationError")
