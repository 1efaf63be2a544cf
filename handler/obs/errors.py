"""The client's exceptions. An HTTP answer of any status is data (a GetResult), not an error."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handler.obs.model import GetResult


class ObsError(Exception):
    """Root of everything the OBS client raises."""


class ObsTransportError(ObsError):
    """No HTTP response was obtained (DNS, connect, TLS, reset, timeout), retries included.

    The message names the endpoint and the cause; it never carries credentials.
    """

    def __init__(self, endpoint: str, cause: BaseException, attempts: int) -> None:
        self.endpoint = endpoint
        self.cause_type = type(cause).__name__
        self.attempts = attempts
        # requests' messages name the host and path, never headers, so they are safe to keep.
        detail = str(cause)[:300]
        super().__init__(
            f"no response from {endpoint} after {attempts} attempt(s): {self.cause_type}: {detail}"
        )


class ListingStuckError(ObsError):
    """A truncated listing page did not advance its markers; paging on would loop forever."""

    def __init__(self, bucket: str, key_marker: str | None, marker: str | None) -> None:
        self.bucket = bucket
        self.key_marker = key_marker
        self.marker = marker
        super().__init__(
            f"listing of bucket {bucket!r} is truncated but its markers did not advance "
            f"(key marker {key_marker!r}, next marker {marker!r}); stopping instead of looping"
        )


class ListingFailedError(ObsError):
    """A listing page came back with an error status; ``result`` is its GetResult."""

    def __init__(self, bucket: str, result: GetResult) -> None:
        self.bucket = bucket
        self.result = result
        super().__init__(
            f"listing bucket {bucket!r} failed: status {result.status}, {result.errorCode}"
        )
