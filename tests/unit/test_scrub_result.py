"""scrub_result (handler/obs/response.py): the same result when nothing is masked, every
field masked when something is."""

from __future__ import annotations

from handler.obs.model import GetResult
from handler.obs.redact import MASK, Redactor
from handler.obs.response import scrub_result

SECRET = "s3cr3t-Key-0123456789"


def _result(echo: str) -> GetResult:
    return GetResult(
        status=403, reason="Forbidden", errorCode="AccessDenied", errorMessage=f"no {echo}",
        requestId="SR0000000000000000", hostId="h", resource="/b/k",
        header=[("date", "Wed, 02 Dec 2026 02:23:02 GMT"), ("request-id", "SR00")],
        body=f"<Error>{echo}</Error>",
    )


def test_nothing_to_mask_returns_the_same_result() -> None:
    result = _result("nothing")
    assert scrub_result(result, Redactor([SECRET])) is result


def test_a_secret_in_any_field_is_masked() -> None:
    redactor = Redactor([SECRET])
    for field in ("reason", "errorCode", "errorMessage", "requestId", "indicator", "hostId",
                  "resource"):
        result = GetResult(**{field: f"x {SECRET} y"})  # type: ignore[arg-type]
        assert getattr(scrub_result(result, redactor), field) == f"x {MASK} y"
    scrubbed = scrub_result(_result(SECRET), redactor)
    assert scrubbed.errorMessage == f"no {MASK}" and scrubbed.body == f"<Error>{MASK}</Error>"
    in_header = GetResult(header=[("date", "d"), (f"meta-{SECRET}", SECRET)])
    assert scrub_result(in_header, redactor).header == [("date", "d"), (f"meta-{MASK}", MASK)]
    as_bytes = GetResult(body=f"<E>{SECRET}</E>".encode())
    assert scrub_result(as_bytes, redactor).body == f"<E>{MASK}</E>".encode()
