"""``make bench``: every benchmark of issue 7, side by side with the official SDK and boto3,
in one run, written to bench/RESULTS.md.

Each workload runs in a fresh process (bench/workloads.py) against a synthetic OBS
stand-in served from another process (tools/standin.py), so neither cold imports nor the
server's CPU leak into the figures. Medians with min and max over several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class Scale:
    runs: int
    cpu_calls: int
    boto3_calls: int
    sweep_uploads: int
    sequential_uploads: int
    delay_ms: float
    memory_sizes: tuple[int, ...]
    cold_runs: int


FULL = Scale(runs=3, cpu_calls=5000, boto3_calls=2000, sweep_uploads=10_000,
             sequential_uploads=1000, delay_ms=20, memory_sizes=(10_000, 100_000, 1_000_000),
             cold_runs=7)
QUICK = Scale(runs=1, cpu_calls=200, boto3_calls=100, sweep_uploads=400, sequential_uploads=100,
              delay_ms=2, memory_sizes=(1_000, 5_000), cold_runs=2)


@contextmanager
def standin(uploads: int, delay_ms: float = 0.0) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    # Popen as a context manager closes the pipes on the way out (its stdout was leaked).
    with subprocess.Popen(
        [PYTHON, "-m", "tools.standin", "--uploads", str(uploads), "--delay-ms", str(delay_ms)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        endpoint = json.loads(process.stdout.readline())["endpoint"]
        try:
            yield endpoint, process
        finally:
            process.stdin.close()
            process.wait(timeout=30)


def server_counts(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("counts\n")
    process.stdin.flush()
    return dict(json.loads(process.stdout.readline()))


def workload(name: str, endpoint: str, *args: object) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "bench.workloads", name, endpoint, *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    result["process_s"] = time.perf_counter() - started
    return result


@dataclass
class Figure:
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cell(self, unit: str, digits: int = 1) -> str:
        low, high = min(self.values), max(self.values)
        return f"{self.median:.{digits}f} {unit} ({low:.{digits}f}–{high:.{digits}f})"


@dataclass
class Report:
    scale: Scale
    lines: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, bool, str]] = field(default_factory=list)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self.lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        self.lines += ["| " + " | ".join(row) + " |" for row in rows]
        self.lines.append("")

    def target(self, what: str, ok: bool, detail: str) -> None:
        self.verdicts.append((what, ok, detail))


def cold_start(report: Report) -> None:
    scale = report.scale
    figures = {name: Figure() for name in ("ours", "sdk", "boto3")}
    process = {name: Figure() for name in figures}
    with standin(100) as (endpoint, _):
        for _ in range(scale.cold_runs):
            for name in figures:
                result = workload(f"cold-{name}", endpoint)
                assert result["status"] == 204, result
                figures[name].values.append(result["seconds"] * 1000)
                process[name].values.append(result["process_s"] * 1000)
    base = figures["sdk"].median
    rows = [(label, figures[n].cell("ms"), process[n].cell("ms"),
             f"{figures[n].median / base:.2f}×")
            for n, label in (("ours", "obs-mpu-janitor (handler.index → first abort)"),
                             ("sdk", "esdk-obs-python (`from obs import ObsClient` → first abort)"),
                             ("boto3", "boto3 (`import boto3` → client → first abort)"))]
    report.lines += ["## Cold start", "",
                     "A fresh process imports the entry point, builds the client and returns the "
                     "first abort's result. In-process time from the first import; the process "
                     "column adds interpreter start-up.", ""]
    report.table(("client", "import → first result", "whole process", "vs SDK"), rows)
    ratio = figures["ours"].median / base
    report.target("cold start ≤ 0.8× the SDK", ratio <= 0.8, f"{ratio:.2f}×")
    done = subprocess.run([PYTHON, "-X", "importtime", "-c", "import handler.index"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    offenders = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if "." not in name:  # a top-level package, wherever it was first imported from
            offenders.append((int(parts[1]), name))
    offenders.sort(reverse=True)
    report.lines += ["`python -X importtime -c 'import handler.index'`, top-level packages by "
                     "cumulative import time:", ""]
    report.table(("package", "cumulative"), [(n, f"{us / 1000:.1f} ms") for us, n in offenders[:8]])


def cpu_per_abort(report: Report) -> None:
    scale = report.scale
    names = {"cpu-ours": ("obs-mpu-janitor", ()), "cpu-sdk": ("esdk-obs-python, default", ()),
             "cpu-sdk-long": ("esdk-obs-python, long_conn_mode=True", ("1",)),
             "cpu-boto3": ("boto3", ())}
    figures = {name: Figure() for name in names}
    with standin(max(scale.cpu_calls, scale.boto3_calls) + 100) as (endpoint, _):
        for _ in range(scale.runs):
            for name, (_, extra) in names.items():
                calls = scale.boto3_calls if name == "cpu-boto3" else scale.cpu_calls
                workload_name = "cpu-sdk" if name == "cpu-sdk-long" else name
                args = (calls, *extra)
                figures[name].values.append(workload(workload_name, endpoint, *args)["ms_per_call"])
    base = figures["cpu-sdk"].median
    report.lines += ["## Client CPU per signed abort", "",
                     f"Process CPU time of the client over {scale.cpu_calls:,} aborts "
                     f"({scale.boto3_calls:,} for boto3) against the stand-in at 0 ms, after 50 "
                     "warm-up calls.", ""]
    report.table(("client", "CPU per abort", "vs SDK default"),
                 [(label, figures[n].cell("ms", 3), f"{figures[n].median / base:.2f}×")
                  for n, (label, _) in names.items()])
    ratio = figures["cpu-ours"].median / base
    report.target("CPU per abort ≤ 1.0× the SDK's default mode", ratio <= 1.0, f"{ratio:.2f}×")


def sweep_throughput(report: Report) -> None:
    scale = report.scale
    cases = [
        ("ours c32", "obs-mpu-janitor sweep, concurrency 32, activity check off", "sweep-ours",
         (32, 0), scale.sweep_uploads),
        ("ours c16", "obs-mpu-janitor sweep, default concurrency 16, activity check off",
         "sweep-ours", (16, 0), scale.sweep_uploads),
        ("ours c32 safe", "obs-mpu-janitor sweep, concurrency 32, activity check on (+ListParts)",
         "sweep-ours", (32, 1), scale.sweep_uploads),
        ("sdk 5", "esdk-obs-python, list then abort with 5 threads (obsutil -j 5)", "sweep-sdk",
         (5,), scale.sweep_uploads),
        ("sdk 1", "esdk-obs-python, list then abort sequentially", "sweep-sdk", (1,),
         scale.sequential_uploads),
        ("boto3 1", "boto3, paginate then abort sequentially", "sweep-boto3", (),
         scale.sequential_uploads),
    ]
    figures = {key: Figure() for key, *_ in cases}
    doubles = 0
    for _ in range(scale.runs):
        for key, _, name, args, uploads in cases:
            with standin(uploads, scale.delay_ms) as (endpoint, process):
                result = workload(name, endpoint, *args)
                counts = server_counts(process)
            assert result["aborted"] == uploads, (key, result)
            doubles += counts["double_aborts"]
            figures[key].values.append(result["per_second"])
    report.lines += ["## Sweep throughput", "",
                     f"{scale.sweep_uploads:,} stale uploads behind a simulated "
                     f"{scale.delay_ms:g} ms round trip (sequential baselines over "
                     f"{scale.sequential_uploads:,}: their rate does not depend on the count). "
                     f"Aborts per second; double aborts seen by the stand-in: {doubles}.", ""]
    seq, five = figures["sdk 1"].median, figures["sdk 5"].median
    report.table(("run", "aborts/s", "vs SDK sequential", "vs SDK 5 threads"),
                 [(label, figures[k].cell("/s"), f"{figures[k].median / seq:.1f}×",
                   f"{figures[k].median / five:.1f}×") for k, label, *_ in cases])
    ours = figures["ours c32"].median
    report.target("sweep ≥ 20× SDK sequential", ours / seq >= 20, f"{ours / seq:.1f}×")
    report.target("sweep ≥ 3× SDK with 5 threads", ours / five >= 3, f"{ours / five:.1f}×")


def memory(report: Report) -> None:
    scale = report.scale
    rows, peaks = [], {}
    for size in scale.memory_sizes:
        figure = Figure()
        with standin(size) as (endpoint, _):
            for _ in range(1 if size >= 1_000_000 else scale.runs):
                result = workload("memory-dry-run", endpoint)
                assert result["seen"] == size == result["would_abort"], result
                figure.values.append(result["peak_rss_mb"])
                reply = result["reply_bytes"]
        peaks[size] = figure.median
        rows.append((f"{size:,}", figure.cell("MB"), f"{reply / 1024:.0f} KiB"))
    report.lines += ["## Memory", "", "Peak RSS of a dry-run sweep (activity check off) over "
                     "synthetic uploads; the reply stays small because the detail list is capped.",
                     ""]
    report.table(("uploads", "peak RSS", "reply size"), rows)
    smallest, largest = min(peaks), max(peaks)
    growth = peaks[largest] - peaks[smallest]
    report.target(f"memory growth {smallest:,} → {largest:,} ≤ 10 MB", growth <= 10,
                  f"{growth:.1f} MB")


def package(report: Report) -> None:
    import importlib.util

    from tools.package import DEFAULT_PYTHON, build

    archive = build(DEFAULT_PYTHON, ROOT / "dist")
    spec = importlib.util.find_spec("obs")
    sdk_bytes = 0
    if spec and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        sdk_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    report.lines += ["## Package", ""]
    report.table(("artifact", "size"), [
        (f"deploy zip, dependencies included (Python {DEFAULT_PYTHON})",
         f"{archive.stat().st_size / 1024 / 1024:.1f} MB"),
        ("esdk-obs-python installed (`obs/` alone, without its dependencies)",
         f"{sdk_bytes / 1024 / 1024:.1f} MB"),
    ])


def versions() -> str:
    from importlib.metadata import version

    names = ("requests", "pydantic", "urllib3", "esdk-obs-python", "boto3")
    return ", ".join(f"{n} {version(n)}" for n in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: the smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    report = Report(QUICK if args.quick else FULL)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    started = time.perf_counter()
    for section in (cold_start, cpu_per_abort, sweep_throughput, memory, package):
        print(f"bench: {section.__name__} ...", flush=True)
        section(report)
    head = [
        "# Benchmarks", "",
        f"`make bench{' (quick)' if args.quick else ''}` on {time.strftime('%Y-%m-%d')}: "
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; {versions()}. "
        f"Medians (min–max) of {report.scale.runs} runs ({report.scale.cold_runs} for cold "
        f"start); took {time.perf_counter() - started:.0f} s.", "",
        "## Targets", "",
        "| target | result | met |", "|---|---|---|",
        *(f"| {what} | {detail} | {'yes' if ok else '**no**'} |"
          for what, ok, detail in report.verdicts),
        "",
    ]
    args.out.write_text("\n".join(head + report.lines), encoding="utf-8")
    print("\n".join(head[6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
