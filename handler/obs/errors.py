"""The client's exceptions. An HTTP answer of any status is data (a GetResult), not an error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.obs import redact

if TYPE_CHECKING:
    from handler.obs.model import GetResult
    from handler.obs.redact import Redactor


class ObsError(Exception):
    """Root of everything the OBS client raises."""


class ObsTransportError(ObsError):
    """No HTTP response was obtained (DNS, connect, TLS, reset, timeout), retries included.

    The message names the endpoint and the cause; it never carries credentials: the
    cause's text (urllib3 quotes the URL, a proxy's ``user:password@`` included) is
    scrubbed of every registered secret here, and again by the raising client with its own.
    """

    def __init__(self, endpoint: str, cause: BaseException, attempts: int) -> None:
        self.endpoint = endpoint
        self.cause_type = type(cause).__name__
        self.attempts = attempts
        # Scrubbed whole, then cut: cut first, a secret across the cut would keep its head.
        detail = redact.redactor().scrub_exception_text(str(cause))[:300]
        super().__init__(redact.redactor().scrub_exception_text(
            f"no response from {endpoint} after {attempts} attempt(s): {self.cause_type}: {detail}"
        ))

    def redact(self, redactor: Redactor) -> ObsTransportError:
        """Scrub this exception in place, and cut the chain to the library's exception,
        whose own text and arguments were never scrubbed. Returns self, to re-raise."""
        self.args = tuple(
            redactor.scrub_exception_text(a) if isinstance(a, str) else a for a in self.args
        )
        self.endpoint = redactor.scrub_exception_text(self.endpoint)
        self.__cause__ = None
        self.__context__ = None
        self.__suppress_context__ = True
        return self


class ListingStuckError(ObsError):
    """A truncated listing page did not advance its markers; paging on would loop forever."""

    def __init__(self, bucket: str, key_marker: str | None, marker: str | None) -> None:
        self.bucket = bucket
        self.key_marker = key_marker
        self.marker = marker
        # Markers are server data: scrubbed, since a hostile server may echo a token in them.
        super().__init__(redact.scrub(
            f"listing of bucket {bucket!r} is truncated but its markers did not advance "
            f"(key marker {key_marker!r}, next marker {marker!r}); stopping instead of looping"
        ))


class ListingFailedError(ObsError):
    """A listing page came back with an error status; ``result`` is its GetResult."""

    def __init__(self, bucket: str, result: GetResult) -> None:
        self.bucket = bucket
        self.result = result
        super().__init__(redact.scrub(
            f"listing bucket {bucket!r} failed: status {result.status}, {result.errorCode}"
        ))
