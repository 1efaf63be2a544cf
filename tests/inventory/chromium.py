"""Headless Chromium screenshots of the inventory page (Debian's ``chromium``).

``python -m tests.inventory.chromium`` redraws docs/inventory-example.png from the
synthetic sample, so the README's picture is the page the tests check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "inventory-example.png"


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1200, 1600),
               binary: str | None = None) -> None:
    """Render ``page`` (a local file) to ``png``; no network: the page fetches nothing and
    Chromium's own background traffic is switched off."""
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (tools/install-chromium.sh)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", page.as_uri()],
            check=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def main() -> int:
    from handler.inventory.page import render_html
    from tests.inventory.samples import sample_inventory

    with tempfile.TemporaryDirectory() as work:
        page = Path(work) / "inventory.html"
        page.write_text(render_html(sample_inventory().to_dict()), encoding="utf-8")
        screenshot(page, EXAMPLE, (1200, 2190))
    print(EXAMPLE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
