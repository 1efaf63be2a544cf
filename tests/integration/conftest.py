"""The embedded local S3-compatible server (moto), shared by the integration tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tools.localobs import LocalObs, local_obs

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def server() -> Iterator[LocalObs]:
    with local_obs() as running:
        yield running


@pytest.fixture
def bucket(server: LocalObs, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test, named after it."""
    name = "it-" + request.node.name.lower().replace("_", "-")[:40].strip("-").replace("[", "-").replace("]", "")
    name = "".join(ch for ch in name if ch.isalnum() or ch == "-")[:50]
    server.boto3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def sdk(server: LocalObs) -> Any:
    """The official OBS SDK (dev-only) as a second, independent uploader."""
    obs = pytest.importorskip("obs")
    from tools.localobs import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

    return obs.ObsClient(access_key_id=LOCAL_ACCESS_KEY, secret_access_key=LOCAL_SECRET_KEY,
                         server=server.endpoint)
