"""A boto-free OBS client on ``requests``: signing, XML, transport and the multipart calls.

Always imported as ``handler.obs``: nothing here may be importable as top-level ``obs``,
the official SDK's name, which FunctionGraph's Python runtimes preinstall.
"""

from handler.obs import redact
from handler.obs.client import REFUSED_ERROR_CODE, ObsClient
from handler.obs.credentials import Credentials
from handler.obs.dates import parse_http_date, parse_iso8601
from handler.obs.errors import ListingFailedError, ListingStuckError, ObsError, ObsTransportError
from handler.obs.lifecycle import Lifecycle, LifecycleResponse, configuration_of
from handler.obs.model import GetResult, PutContentResponse
from handler.obs.paging import iter_part_pages, iter_upload_pages
from handler.obs.redact import Redactor

__all__ = [
    "REFUSED_ERROR_CODE",
    "Credentials",
    "GetResult",
    "Lifecycle",
    "LifecycleResponse",
    "ListingFailedError",
    "ListingStuckError",
    "ObsClient",
    "ObsError",
    "ObsTransportError",
    "PutContentResponse",
    "Redactor",
    "configuration_of",
    "iter_part_pages",
    "iter_upload_pages",
    "parse_http_date",
    "parse_iso8601",
    "redact",
]
