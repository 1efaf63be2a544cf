"""The real servers of the integration tests: moto (embedded) and Ceph RGW (tools/rgw.py).

Every test that takes ``server`` runs once per server. The RGW runs are marked ``rgw``
and left out unless asked for (``make test-rgw``: ``pytest -m rgw tests/integration``),
so ``make test`` needs no Ceph. RGW starts once per session, on first use.

``s3`` is boto3 (dev-only), the independent witness of what the server holds. boto3
cannot read a reply that names a key with a control character (Ceph RGW writes
``&#x1b;``, moto the raw byte; XML 1.0 allows neither), so the witness rewrites those
characters into private-use stand-ins before boto3 parses, and ``witness_key`` maps
them back: a few lines of its own, not the janitor's parser.
"""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

SERVERS = ["moto", pytest.param("rgw", marks=pytest.mark.rgw)]
_FORBIDDEN = re.compile(rb"&#x1[bB];|&#27;|\x1b")
_STAND_IN = "\uf01b"
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


@pytest.fixture(scope="session", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Target:
    name: str = request.param
    return Target(name, request.getfixturevalue(f"_{name}"))


def _witness_body(response_dict: dict[str, Any], **_: Any) -> None:
    body = response_dict.get("body")
    if not isinstance(body, bytes) or not _FORBIDDEN.search(body):
        return
    body = _FORBIDDEN.sub(_STAND_IN.encode(), body)
    response_dict["body"] = body
    # botocore has already marked the unreadable 200 as a 500 (to retry it); readable
    # now, and not an <Error>, it is the 200 the server sent.
    root = ET.fromstring(body)
    if response_dict.get("status_code") == 500 and not root.tag.endswith("Error"):
        response_dict["status_code"] = 200


def witness_key(key: str) -> str:
    return key.replace(_STAND_IN, "\x1b")


@pytest.fixture
def s3(server: Target) -> Any:
    client = server.handle.boto3_client()
    # botocore turns a 200 it cannot parse into a 500 (and retries) on before-parse.s3.*;
    # handlers of a more specific event name run before it.
    for operation in ("CreateMultipartUpload", "ListMultipartUploads", "ListParts"):
        client.meta.events.register_first(f"before-parse.s3.{operation}", _witness_body)
    return client


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
