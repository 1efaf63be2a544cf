"""A boto-free OBS client on ``requests``: signing, XML, transport and the multipart calls.

Always imported as ``handler.obs``: nothing here may be importable as top-level ``obs``,
the official SDK's name, which FunctionGraph's Python runtimes preinstall.

The names below are loaded on first use (PEP 562): importing any ``handler.obs.*`` module
runs this file first, and an abort must not pay for the lifecycle, listing and date code
(bench/RESULTS.md, "Cold start").
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handler.obs import redact
    from handler.obs.client import REFUSED_ERROR_CODE, ObsClient
    from handler.obs.credentials import Credentials
    from handler.obs.dates import parse_http_date, parse_iso8601
    from handler.obs.errors import (
        ListingFailedError,
        ListingStuckError,
        ObsError,
        ObsTransportError,
    )
    from handler.obs.lifecycle import Lifecycle, LifecycleResponse, configuration_of
    from handler.obs.model import GetResult, PutContentResponse
    from handler.obs.paging import iter_part_pages, iter_upload_pages
    from handler.obs.redact import Redactor

_HOMES = {
    "REFUSED_ERROR_CODE": "client", "ObsClient": "client",
    "Credentials": "credentials",
    "parse_http_date": "dates", "parse_iso8601": "dates",
    "ListingFailedError": "errors", "ListingStuckError": "errors", "ObsError": "errors",
    "ObsTransportError": "errors",
    "Lifecycle": "lifecycle", "LifecycleResponse": "lifecycle", "configuration_of": "lifecycle",
    "GetResult": "model", "PutContentResponse": "model",
    "iter_part_pages": "paging", "iter_upload_pages": "paging",
    "Redactor": "redact",
}

__all__ = [  # noqa: RUF022 - grouped by home module, like _HOMES
    "REFUSED_ERROR_CODE", "ObsClient", "Credentials", "parse_http_date", "parse_iso8601",
    "ListingFailedError", "ListingStuckError", "ObsError", "ObsTransportError", "Lifecycle",
    "LifecycleResponse", "configuration_of", "GetResult", "PutContentResponse",
    "iter_part_pages", "iter_upload_pages", "Redactor", "redact",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # AttributeError lets ``from handler.obs import <submodule>`` work
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
