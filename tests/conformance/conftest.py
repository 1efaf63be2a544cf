"""Fixtures that run the official SDK (dev-only) next to our client, frozen to one Date."""

from __future__ import annotations

import datetime as datetime_module
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import pytest

from handler.obs import ObsClient
from tests.support.canned_server import CannedServer, route_test_domain_to_loopback

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from obs import ObsClient as SdkClient

obs_sdk = pytest.importorskip("obs")

FROZEN_DATE = "Tue, 02 Jan 2024 03:04:05 GMT"
FROZEN_EPOCH = parsedate_to_datetime(FROZEN_DATE).timestamp()
AK, SK, TOKEN = "AKIDEXAMPLE0000000001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN/+=abc"


class _FrozenDatetime(datetime_module.datetime):
    """The SDK reads ``datetime.utcnow()`` inside ``_add_auth_headers`` (docs/obs.md §9)."""

    @classmethod
    def utcnow(cls) -> _FrozenDatetime:  # type: ignore[override]
        return cls(2024, 1, 2, 3, 4, 5)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[CannedServer]:
    route_test_domain_to_loopback(monkeypatch)
    monkeypatch.setattr(datetime_module, "datetime", _FrozenDatetime)
    with CannedServer() as canned:
        yield canned


@pytest.fixture
def clients(server: CannedServer) -> Callable[..., tuple[SdkClient, ObsClient]]:
    """Build the SDK client and ours for one addressing mode, with or without a token."""

    def build(*, path_style: bool, token: bool, retries: int = 0) -> tuple[Any, ObsClient]:
        # A host name means virtual-host + OBS signature; an IP means path-style + V2.
        endpoint = f"http://127.0.0.1:{server.port}" if path_style else f"http://obs.test:{server.port}"
        security_token = TOKEN if token else None
        sdk = obs_sdk.ObsClient(
            access_key_id=AK, secret_access_key=SK, server=endpoint,
            security_token=security_token, signature="obs",
            is_signature_negotiation=False, max_retry_count=retries,
        )
        ours = ObsClient(
            AK, SK, endpoint, security_token=security_token, max_retry_count=retries,
            clock=lambda: FROZEN_EPOCH,
        )
        return sdk, ours

    return build
