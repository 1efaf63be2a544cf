"""The one ObsClient of this function instance, reused across warm invocations.

FunctionGraph keeps an instance warm between invocations; reusing the client keeps its
connection pool (the docs' own best practice). A new client is made when the settings
or the agency's rotating credentials change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from handler.obs.client import ObsClient

if TYPE_CHECKING:
    from handler.obs.credentials import Credentials
    from handler.settings import Settings

_lock = threading.Lock()
_cached: tuple[tuple[object, ...], ObsClient] | None = None


def client_for(settings: Settings, credentials: Credentials, *, pool_size: int) -> ObsClient:
    """The cached client if it still fits, else a fresh one (the old one is closed)."""
    global _cached
    key = (
        settings.endpoint, settings.path_style, settings.signature, settings.timeout_s,
        settings.max_retry_count, pool_size, credentials,
    )
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        if _cached is not None:
            _cached[1].close()
        client = ObsClient(
            credentials.access_key_id, credentials.secret_access_key, settings.endpoint,
            security_token=credentials.security_token, path_style=settings.path_style,
            signature=settings.signature, timeout=settings.timeout_s,
            max_retry_count=settings.max_retry_count, pool_size=pool_size,
        )
        _cached = (key, client)
        return client


def forget() -> None:
    """Drop the cached client (tests, and the local CLI between runs)."""
    global _cached
    with _lock:
        if _cached is not None:
            _cached[1].close()
        _cached = None
