"""Capture the listing replies in tests/vectors/listing/ from real servers (dev-only).

    python -m tests.integration.capture_vectors rgw    # RGW_ENDPOINT, or starts one
    python -m tests.integration.capture_vectors moto

Not a test: it rewrites the vectors that tests/unit/test_listing_rules.py reads.
Requests are made with our own signed client (boto3 cannot read a reply that names a
key with a control character, so it cannot even create such an upload).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handler.obs import ObsClient

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

OUT = Path(__file__).resolve().parents[1] / "vectors" / "listing"
BUCKET = "vectors"
KEYS = ["a b", "p+q", "pc%41", "amp&x", "ctl\x1bx", "ü中", "t~x"]


def capture(client: ObsClient, server: str) -> None:
    client.request("PUT", BUCKET, None, [])
    ids: dict[str, str] = {}
    for key in KEYS:
        started = client.request("POST", BUCKET, key, [("uploads", None)], parse_body=lambda t: t)
        found = re.search(r"<UploadId>(.*?)</UploadId>", started.body or "")
        assert found, started
        ids[key] = found.group(1)
    control = "ctl\x1bx"
    client.request("PUT", BUCKET, control, [("partNumber", "1"), ("uploadId", ids[control])])

    def raw(query: list[tuple[str, str | None]], key: str | None = None) -> str:
        return str(client.request("GET", BUCKET, key, query, parse_body=lambda t: t).body)

    uploads: list[tuple[str, str | None]] = [("uploads", None)]
    bodies = {
        "uploads-url-page1": raw([*uploads, ("encoding-type", "url"), ("max-uploads", "3")]),
        "uploads-url-page2": raw([*uploads, ("encoding-type", "url"), ("max-uploads", "3"),
                                  ("key-marker", control), ("upload-id-marker", ids[control])]),
        "uploads-plain-page1": raw([*uploads, ("max-uploads", "3")]),
        "uploads-plain-all": raw(uploads),
        "parts-url": raw([("uploadId", ids[control]), ("encoding-type", "url")], key=control),
        "parts-missing": raw([("uploadId", ids["a b"] + "x")], key="a b"),
    }
    if server == "moto":  # moto ignores max-uploads and markers: one page says it all
        bodies = {name: bodies[name] for name in ("uploads-url-page1", "parts-url")}
    for name, body in bodies.items():
        (OUT / f"{server}-{name}.xml").write_text(body, encoding="utf-8", newline="")
    (OUT / f"{server}-uploads.json").write_text(
        json.dumps({"keys": KEYS, "upload_ids": ids}, indent=1) + "\n", encoding="utf-8")


def main(server: str) -> None:
    running: AbstractContextManager[Any]
    if server == "rgw":
        from tools import rgw

        running, keys = rgw.rgw_server(), (rgw.RGW_ACCESS_KEY, rgw.RGW_SECRET_KEY)
    else:
        from tools import localobs

        running = localobs.local_obs()
        keys = (localobs.LOCAL_ACCESS_KEY, localobs.LOCAL_SECRET_KEY)
    with running as target:
        capture(ObsClient(*keys, target.endpoint), server)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "rgw")
