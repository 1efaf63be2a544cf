"""bench/inventory.py at a toy size: it writes only its own section of RESULTS.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.inventory import BEGIN, END, main

if TYPE_CHECKING:
    from pathlib import Path


def test_the_section_is_appended_then_replaced_and_nothing_else_changes(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmarks\n\nother sections stay as they are\n", encoding="utf-8")
    assert main(["--uploads", "2000", "--out", str(out)]) == 0
    first = out.read_text(encoding="utf-8")
    assert first.startswith("# Benchmarks\n\nother sections stay as they are\n")
    assert first.count(BEGIN) == first.count(END) == 1
    assert "`Inventory.add` per second" in first and "2,000 uploads" in first
    out.write_text(first + "\n## After\n\nkept too\n", encoding="utf-8")
    assert main(["--uploads", "1000", "--out", str(out)]) == 0
    second = out.read_text(encoding="utf-8")
    assert second.count(BEGIN) == 1
    assert "1,000 uploads" in second and "2,000 uploads" not in second
    assert second.startswith("# Benchmarks\n\nother sections stay as they are\n")
    assert second.endswith("\n## After\n\nkept too\n")
