"""The benchmark harness at toy sizes, so that `make bench` cannot rot. Speed is asserted by
the benchmark's own report (bench/RESULTS.md), never here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_quick_bench_writes_every_section(tmp_path: Path) -> None:
    from bench.run import main

    out = tmp_path / "RESULTS.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for section in ("## Targets", "## Cold start", "## Client CPU per signed abort",
                    "## Sweep throughput", "## Memory", "## Package"):
        assert section in text
    for target in ("cold start ≤ 0.8× the SDK", "CPU per abort ≤ 1.0×", "≥ 20× SDK sequential",
                   "≥ 3× SDK with 5 threads", "memory growth"):
        assert target in text
    assert "double aborts seen by the stand-in: 0" in text
