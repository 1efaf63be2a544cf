"""The real servers of the integration tests: moto (embedded) and Ceph RGW (tools/rgw.py).

Every test that takes ``server`` runs once per server. The RGW runs are marked ``rgw``
and left out unless asked for (``make test-rgw``: ``pytest -m rgw tests/integration``),
so ``make test`` needs no Ceph. RGW starts once per session, on first use.

``s3`` is boto3 (dev-only), the independent witness of what the server holds, taught
to read replies naming a key with ESC (tools/rgw.py: ``tolerate_control_characters``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tools.rgw import tolerate_control_characters

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

_RUN = f"{time.time_ns()}"


class TestServer(Protocol):
    endpoint: str

    def settings(self, **extra: str) -> dict[str, str]: ...

    def boto3_client(self) -> Any: ...


@dataclass(frozen=True)
class Target:
    """One server under test: its name and its handle (LocalObs or Rgw)."""

    name: str
    handle: TestServer

    @property
    def endpoint(self) -> str:
        return self.handle.endpoint

    def settings(self, **extra: str) -> dict[str, str]:
        return self.handle.settings(**extra)

    @property
    def pages_honoured(self) -> bool:
        """moto ignores max-uploads (one page, whatever was asked); RGW honours it."""
        return self.name != "moto"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rgw: runs against Ceph RGW started by tools/rgw.py "
                                       "(make test-rgw)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that takes ``server`` runs on both (marks exist only once configured)."""
    if "server" in metafunc.fixturenames:
        metafunc.parametrize("server", ["moto", pytest.param("rgw", marks=pytest.mark.rgw)],
                             indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``-m`` naming rgw, the RGW runs are deselected: make test needs no Ceph."""
    if "rgw" in (config.getoption("markexpr") or ""):
        return
    keep = [item for item in items if item.get_closest_marker("rgw") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


@pytest.fixture(scope="session")
def _moto() -> Iterator[TestServer]:
    from tools.localobs import local_obs

    with local_obs() as running:
        yield running


@pytest.fixture(scope="session")
def _rgw() -> Iterator[TestServer]:
    from tools.rgw import rgw_server

    with rgw_server() as running:
        yield running


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Target:
    name: str = request.param
    return Target(name, request.getfixturevalue(f"_{name}"))


@pytest.fixture
def s3(server: Target) -> Any:
    return tolerate_control_characters(server.handle.boto3_client())


@pytest.fixture
def bucket(server: Target, s3: Any, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test, named after it (a digest keeps parameters apart)."""
    # A server reused between sessions (RGW_ENDPOINT) still holds the last run's buckets.
    digest = hashlib.sha256(f"{request.node.nodeid} {_RUN}".encode()).hexdigest()[:12]
    stem = request.node.originalname.lower().removeprefix("test_").replace("_", "-")[:36]
    name = f"it-{stem.strip('-')}-{digest}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def sdk(server: Target) -> Any:
    """The official OBS SDK (dev-only) as a second, independent uploader."""
    obs = pytest.importorskip("obs")
    settings = server.settings()
    # V2 signatures: RGW checks them (moto does not), and speaks no OBS signature.
    return obs.ObsClient(access_key_id=settings["OBS_ACCESS_KEY_ID"],
                         secret_access_key=settings["OBS_SECRET_ACCESS_KEY"],
                         server=server.endpoint, signature="v2", path_style=True)
