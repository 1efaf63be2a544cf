"""The inventory's rate and memory at 1,000,000 uploads.

``python -m bench.inventory`` feeds synthetic uploads (tests/inventory/samples.py) to
an ``Inventory``, times it, measures tracemalloc's peak in a second pass, and writes
its section of bench/RESULTS.md between the inventory markers (appended if missing;
nothing else in the file is touched).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from handler.inventory.aggregate import Inventory
from tests.inventory.samples import many_uploads, traced_peak

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- inventory:begin -->", "<!-- inventory:end -->"


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return platform.machine()


def rate(count: int) -> tuple[float, float]:
    """(seconds for ``add`` alone, seconds to make and add the uploads).

    ``add`` alone is timed over 100,000 facts made beforehand and fed repeatedly up to
    ``count``, so making them is not in the figure."""
    chunk = list(many_uploads(min(count, 100_000)))
    inventory = Inventory(price_per_gb_month=0.02)
    fed = 0
    started = time.perf_counter()
    while fed < count:
        batch = chunk[: count - fed]
        for upload in batch:
            inventory.add(upload)
        fed += len(batch)
    adding = time.perf_counter() - started
    del chunk
    inventory = Inventory(price_per_gb_month=0.02)
    started = time.perf_counter()
    inventory.add_all(many_uploads(count))
    inventory.to_dict()
    return adding, time.perf_counter() - started


def section(count: int, small: int) -> str:
    adding, total = rate(count)
    peaks = {n: traced_peak(n) for n in (small, count)}
    mib = 1024 * 1024
    return "\n".join([
        BEGIN,
        "## Inventory",
        "",
        f"`python -m bench.inventory` on {datetime.now(timezone.utc):%Y-%m-%d}: "
        f"{cpu()}, Python {platform.python_version()}. "
        f"{count:,} synthetic uploads (2 buckets, 20 top-level prefixes, 80 initiators, "
        "lifecycle coverage on two prefixes) fed to one `Inventory`, then `to_dict()`.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| `Inventory.add` per second (facts made beforehand) | {count / adding:,.0f} /s |",
        f"| uploads per second, making the synthetic facts included | {count / total:,.0f} /s |",
        f"| tracemalloc peak at {small:,} uploads | {peaks[small] / mib:.2f} MiB |",
        f"| tracemalloc peak at {count:,} uploads | {peaks[count] / mib:.2f} MiB |",
        f"| growth {small:,} → {count:,} | {(peaks[count] - peaks[small]) / 1024:+.0f} KiB |",
        "",
        "The peak is bounded by the caps (10 oldest uploads and 50 initiators per slice, "
        "500 top-level prefixes per bucket), not by the number of uploads.",
        END,
    ])


def write(path: Path, text: str) -> None:
    """Replace the inventory section of ``path`` (or append it), leaving the rest alone."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = old.find(BEGIN), old.find(END)
    if start >= 0 and end > start:
        new = old[:start] + text + old[end + len(END):]
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + ("\n" if old else "")
        new += text + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    text = section(args.uploads, max(args.uploads // 10, 1))
    write(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
