"""A boto-free OBS client on ``requests``: signing, XML, transport and the multipart calls.

Always imported as ``handler.obs``: nothing here may be importable as top-level ``obs``,
the official SDK's name, which FunctionGraph's Python runtimes preinstall.
"""

from handler.obs.client import ObsClient
from handler.obs.credentials import Credentials
from handler.obs.errors import ListingFailedError, ListingStuckError, ObsError, ObsTransportError
from handler.obs.model import GetResult
from handler.obs.paging import iter_part_pages, iter_upload_pages

__all__ = [
    "Credentials",
    "GetResult",
    "ListingFailedError",
    "ListingStuckError",
    "ObsClient",
    "ObsError",
    "ObsTransportError",
    "iter_part_pages",
    "iter_upload_pages",
]
