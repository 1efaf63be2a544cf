"""bench.rgw's section of RESULTS.md, from made-up runs: no cluster, no rclone."""

from __future__ import annotations

import subprocess
import time

import pytest

import tools.rgw as rgw_tool
from bench.rgw import BEGIN, END, Run, section
from bench.run import machine


def test_the_section_shows_both_tools_timed_alike_and_the_janitors_own_sweep_time() -> None:
    runs = [Run("janitor", 1000, 4.0, 2005, 0, 0, 100, 100, sweep_s=3.5),
            Run("rclone", 1000, 2.0, 1002, 0, 0, 100, None)]
    before = time.strftime("%Y-%m-%d")
    text = section(runs, ["| janitor | 20 | aborted 20 | 0 |"], "ceph 16", "rclone 1.60", 60.0)
    days = {before, time.strftime("%Y-%m-%d")}  # a run across midnight names either
    assert text.startswith(BEGIN) and text.endswith(END)
    assert "timed from spawn to exit" in text
    assert any(f"on {day}: {machine()}; ceph 16, rclone 1.60;" in text for day in days)
    assert "| 1 | janitor | 4.00 s | 3.50 s | 2,005 | 2.00 | 0 (0) | 100 / 100 |" in text
    assert "| 2 | rclone | 2.00 s | n/a | 1,002 | 1.00 | 0 (0) | n/a / 100 |" in text
    assert "| of which sweeping, median | 3.50 (3.50–3.50) s | n/a |" in text
    assert "| wall time janitor / rclone | 2.00× | 1.00× |" in text


def apt_only(name: str) -> str | None:
    return "/usr/bin/apt-get" if name == "apt-get" else None


def test_a_missing_tool_is_named_with_its_package_when_it_cannot_be_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rgw_tool.shutil, "which", apt_only)  # apt is there; root is not
    monkeypatch.setattr(rgw_tool.os, "geteuid", lambda: 1000)
    ran: list[object] = []
    monkeypatch.setattr(rgw_tool.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(rgw_tool.RgwError, match=r"missing rclone; .*apt-get install rclone\)"):
        rgw_tool.ensure_installed(("rclone",), ("rclone",))
    assert ran == []


def test_as_root_the_missing_packages_are_installed_in_one_apt_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rgw_tool.shutil, "which", apt_only)
    monkeypatch.setattr(rgw_tool.os, "geteuid", lambda: 0)
    ran: list[list[str]] = []

    def run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(rgw_tool.subprocess, "run", run)
    rgw_tool.ensure_installed(("radosgw", "rclone"), ("radosgw", "rclone"))
    assert ran == [["apt-get", "update", "-q"],
                   ["apt-get", "install", "-y", "-q", "--no-install-recommends", "radosgw",
                    "rclone"]]


def test_make_bench_skips_the_rgw_run_where_nothing_can_be_installed(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import bench.rgw

    def cannot(*_: object) -> None:
        raise rgw_tool.RgwError("missing radosgw; install the Debian packages ...")

    monkeypatch.setattr(bench.rgw, "ensure_installed", cannot)
    monkeypatch.setattr(bench.rgw, "rgw_server", lambda: pytest.fail("started a cluster"))
    assert bench.rgw.main(["--skip-if-missing"]) == 0
    assert "bench.rgw: skipped" in capsys.readouterr().err
    with pytest.raises(rgw_tool.RgwError):
        bench.rgw.main([])


def test_a_tool_already_on_the_path_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rgw_tool.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(rgw_tool.subprocess, "run", lambda *a, **k: pytest.fail("ran apt"))
    rgw_tool.ensure_installed(("rclone",), ("rclone",))
