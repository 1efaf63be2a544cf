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
    # Sections other benchmarks own must survive the rewrite, byte for byte.
    theirs = ("<!-- rgw:begin -->\n## Ceph RGW\n\n| a | b |\n<!-- rgw:end -->",
              "<!-- coldstart:begin -->\n## Cold start, theirs\n<!-- coldstart:end -->")
    out.write_text("# old\n\nstale text\n\n" + "\n\n".join(theirs) + "\n", encoding="utf-8")
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for section in ("## Targets", "## The stand-in", "## Client CPU per signed abort",
                    "## Sweep throughput", "### Concurrency", "## Memory", "## Package"):
        assert section in text
    for target in ("CPU per abort ≤ 0.9× the SDK's default mode",
                   "CPU per abort ≤ 1.2× the SDK's long-connection mode",
                   "≥ 90 % of min(RTT bound, client 1-core bound)", "memory growth"):
        assert target in text
    assert "stale text" not in text
    for section in theirs:
        assert text.count(section) == 1
    # The sweep rows carry the stand-in's requests per upload and the RTT bound.
    defaults = next(line for line in text.splitlines()
                    if line.startswith("| obs-mpu-janitor, defaults |"))
    cells = [cell.strip() for cell in defaults.strip("|").split("|")]
    assert float(cells[2]) >= 1.0  # at least the abort itself
    assert cells[4].endswith("/s") and cells[5].endswith("/s")


def test_marked_sections_are_kept_in_order() -> None:
    from bench.run import keep_sections

    previous = ("x\n<!-- a:begin -->\nA\n<!-- a:end -->\ny\n<!-- b-c:begin -->B"
                "<!-- b-c:end -->\n<!-- d:begin -->unterminated")
    kept = keep_sections(previous, "# new\n")
    assert kept.startswith("# new\n")
    assert kept.index("A\n<!-- a:end -->") < kept.index("B<!-- b-c:end -->")
    assert "x\n" not in kept and "y\n" not in kept and "unterminated" not in kept
