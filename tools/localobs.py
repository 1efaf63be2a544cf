"""The embedded local S3-compatible server (moto) for the demo and the tests.

Dev-only: this module lives outside handler/, and handler/ never imports moto. Our client
reaches it path-style with the V2 signature, as it would any IP endpoint; moto's upload
IDs are longer than OBS's 32 characters, so UPLOAD_ID_FORMAT=relaxed goes with it.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

# moto and boto3 want credentials of some kind; these never leave 127.0.0.1.
LOCAL_ACCESS_KEY = "local-access-key"
LOCAL_SECRET_KEY = "local-secret-key"
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class LocalObs:
    endpoint: str

    def settings(self, **extra: str) -> dict[str, str]:
        """User data that points the handler here (and says why uploadIds are relaxed)."""
        return {
            "OBS_ENDPOINT": self.endpoint,
            # moto's upload IDs are ~56 characters; OBS's are 32 (see README).
            "UPLOAD_ID_FORMAT": "relaxed",
            "OBS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
            "OBS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
            **extra,
        }

    def boto3_client(self) -> Any:
        """A third-party client (boto3, dev-only) to set up and check uploads."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_SECRET_KEY,
        )


@contextmanager
def local_obs() -> Iterator[LocalObs]:
    """Start moto's S3 server in-process on 127.0.0.1 and a free port; stop it after.

    moto serves every AWS service on one port and picks the service from the request's
    Authorization header, read as a SigV4 credential scope (``.../region/service/...``).
    A V2 signature (``AWS key:base64``, what our client sends to an IP endpoint) whose
    base64 holds exactly four ``/`` parses as such a scope and reaches no backend: a 500
    for about one request in 1,500 (26 of its 28 characters can be ``/``). This server is
    S3 and nothing else, so its dispatcher says so rather than guessing (moto's
    ThreadedMotoServer, with that one change).
    """
    os.environ.setdefault("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_KEY)
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    class S3Only(DomainDispatcherApplication):
        def infer_service_region_host(self, environ: dict[str, Any], path: str) -> str:
            return f"s3.{LOCAL_REGION}.amazonaws.com"

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = make_server("127.0.0.1", 0, S3Only(create_backend_app), threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield LocalObs(endpoint=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        serving.join()
        server.server_close()
