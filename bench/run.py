"""``make bench``: the client against the official SDK and boto3, in one run, written to
bench/RESULTS.md.

Each workload runs in a fresh process (bench/workloads.py) against a synthetic OBS
stand-in served from another process (tools/standin.py), so neither cold imports nor the
server's CPU leak into the client's figures. The SDK runs in a venv of its own
(bench/sdkenv.py), as a user has it.

Every comparison is a ratio within one alternating run: the clients take turns (A B C,
A B C, ...), each round gives one ratio, and the table shows the median ratio with its
range, so that a neighbour's load that comes and goes hits every client alike. The small
differences are backed by instruction counts under callgrind, which do not drift with
the neighbours. Sweep rows carry the requests per upload counted by the stand-in and the
round-trip bound beside the measured rate.

Sections other tools write into RESULTS.md (``<!-- name:begin -->`` … ``<!-- name:end
-->``) are kept as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.sdkenv import installed, sdk_python

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
# Workloads may write bytecode (the environment forbids it by default): users' installs
# have it, and the SDK's venv has it, so ours gets it too.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
SECTION = re.compile(r"<!-- (?P<name>[\w-]+):begin -->.*?<!-- (?P=name):end -->", re.DOTALL)


@dataclass(frozen=True)
class Scale:
    rounds: int  # alternating rounds of the CPU comparison
    sweep_rounds: int
    cpu_calls: int
    boto3_calls: int
    icount_calls: tuple[int, int]  # aborts in the short and the long callgrind run
    sweep_uploads: int  # the defaults row
    table_uploads: int  # each row of the concurrency table
    sdk_threads_uploads: int
    sequential_uploads: int
    delay_ms: float
    concurrencies: tuple[int, ...]
    memory_sizes: tuple[int, ...]
    cold_runs: int


FULL = Scale(rounds=5, sweep_rounds=2, cpu_calls=3000, boto3_calls=1000,
             icount_calls=(20, 220), sweep_uploads=8000, table_uploads=3000,
             sdk_threads_uploads=3000, sequential_uploads=400, delay_ms=20,
             concurrencies=(4, 8, 16, 24, 32, 64),
             memory_sizes=(10_000, 100_000, 1_000_000), cold_runs=7)
QUICK = Scale(rounds=1, sweep_rounds=1, cpu_calls=200, boto3_calls=100, icount_calls=(2, 12),
              sweep_uploads=400, table_uploads=200, sdk_threads_uploads=200,
              sequential_uploads=50, delay_ms=2, concurrencies=(8, 32),
              memory_sizes=(1_000, 5_000), cold_runs=1)


# -- running things ----------------------------------------------------------------------

class Standin:
    def __init__(self, process: subprocess.Popen[str], endpoint: str) -> None:
        self.process = process
        self.endpoint = endpoint

    def counts(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))


@contextmanager
def standin(uploads: int, delay_ms: float = 0.0) -> Iterator[Standin]:
    # Popen as a context manager closes the pipes on the way out.
    with subprocess.Popen(
        [str(PYTHON), "-m", "tools.standin", "--uploads", str(uploads),
         "--delay-ms", str(delay_ms)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV,
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        endpoint = json.loads(process.stdout.readline())["endpoint"]
        try:
            yield Standin(process, endpoint)
        finally:
            process.stdin.close()
            process.wait(timeout=30)


def workload(name: str, endpoint: str, *args: object, python: Path = PYTHON,
             prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([*prefix, str(python), "-m", "bench.workloads", name, endpoint,
                           *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, check=False, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    result["process_s"] = time.perf_counter() - started
    result["stderr"] = done.stderr
    return result


@dataclass
class Figure:
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cell(self, unit: str = "", digits: int = 1) -> str:
        low, high = min(self.values), max(self.values)
        if len(self.values) == 1:
            return f"{self.median:.{digits}f}{unit}"
        return f"{self.median:.{digits}f}{unit} ({low:.{digits}f}–{high:.{digits}f})"


@dataclass
class Report:
    scale: Scale
    sdk: Path
    lines: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, bool, str]] = field(default_factory=list)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self.lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        self.lines += ["| " + " | ".join(row) + " |" for row in rows]
        self.lines.append("")

    def target(self, what: str, ok: bool, detail: str) -> None:
        self.verdicts.append((what, ok, detail))


# -- the stand-in itself -------------------------------------------------------------------

STALL_MARGIN_MS = 20


def standin_check(report: Report) -> None:
    delay = 20.0 if report.scale is FULL else report.scale.delay_ms
    with standin(1000, delay) as served:
        result = workload("latency-ours", served.endpoint, 30)
    rows = [(label, f"{result[key]:.1f} ms") for key, label in (
        ("abort", "AbortMultipartUpload (204, no body)"),
        ("list_parts", "ListParts (200, a body)"),
        ("list_parts_404", "ListParts of an aborted upload (404, a body)"),
        ("list_page", "ListMultipartUploads, 100 uploads (200, a body)"))]
    report.lines += ["## The stand-in", "",
                     f"Median time of 30 sequential calls behind its {delay:g} ms simulated "
                     "delay. It answers with Nagle's algorithm off and each reply in one send: "
                     "before, every reply with a body waited for the client's delayed ACK "
                     "(ListParts took 64 ms at 20 ms).", ""]
    report.table(("request", "median"), rows)
    slowest = max(result["list_parts"], result["list_parts_404"], result["list_page"])
    # What this guards against is the delayed-ACK stall, which adds at least 40 ms (Linux's
    # minimum delayed ACK); a 100-upload page also costs the stand-in and the client a few
    # ms of XML, which is work, not a stall.
    report.target(f"stand-in: no delayed-ACK stall (replies with a body ≤ {delay:g} + "
                  f"{STALL_MARGIN_MS} ms; a stall adds ≥ 40 ms)",
                  slowest <= delay + STALL_MARGIN_MS, f"{slowest:.1f} ms")


# -- cold start (bench/coldstart.py takes it over when it exists) ----------------------------

def cold_start(report: Report) -> None:
    scale = report.scale
    clients = {"ours": PYTHON, "sdk": report.sdk, "boto3": PYTHON}
    figures = {name: Figure() for name in clients}
    process = {name: Figure() for name in clients}
    with standin(100) as served:
        for _ in range(scale.cold_runs):
            for name, python in clients.items():
                result = workload(f"cold-{name}", served.endpoint, python=python)
                assert result["status"] == 204, result
                figures[name].values.append(result["seconds"] * 1000)
                process[name].values.append(result["process_s"] * 1000)
    base = figures["sdk"].median
    rows = [(label, figures[n].cell(" ms"), process[n].cell(" ms"),
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


# -- CPU per signed abort -----------------------------------------------------------------

CPU_CLIENTS = {
    "ours": ("obs-mpu-janitor", "cpu-ours", ()),
    "sdk": ("esdk-obs-python, default mode", "cpu-sdk", ("0",)),
    "sdk-long": ("esdk-obs-python, long_conn_mode=True", "cpu-sdk", ("1",)),
}


def cpu_per_abort(report: Report) -> None:
    scale = report.scale
    figures = {name: Figure() for name in (*CPU_CLIENTS, "boto3")}
    ratios = {"sdk": Figure(), "sdk-long": Figure()}
    uploads = scale.rounds * scale.cpu_calls + 200
    with standin(uploads) as served:
        for _ in range(scale.rounds):
            this_round = {}
            for name, (_, name_of_workload, extra) in CPU_CLIENTS.items():
                python = PYTHON if name == "ours" else report.sdk
                result = workload(name_of_workload, served.endpoint, scale.cpu_calls, *extra,
                                  python=python)
                this_round[name] = result["ms_per_call"]
                figures[name].values.append(result["ms_per_call"])
            for name in ratios:
                ratios[name].values.append(this_round["ours"] / this_round[name])
            boto3 = workload("cpu-boto3", served.endpoint, scale.boto3_calls)
            figures["boto3"].values.append(boto3["ms_per_call"])
    labels = {name: label for name, (label, _, _) in CPU_CLIENTS.items()} | {"boto3": "boto3"}
    report.lines += [
        "## Client CPU per signed abort", "",
        f"Process CPU time over {scale.cpu_calls:,} aborts ({scale.boto3_calls:,} for boto3) "
        f"against the stand-in at 0 ms, after 50 warm-up calls; {scale.rounds} alternating "
        "rounds, each client in a fresh process. Ratios are ours over the client's, one per "
        "round.", ""]
    rows = []
    for name in figures:
        ratio = ratios[name].cell("×", 2) if name in ratios else ("1.00×" if name == "ours"
                                                                  else "")
        rows.append((labels[name], figures[name].cell(" ms", 3), ratio))
    report.table(("client", "CPU per abort", "ours ÷ this client"), rows)
    default, long_conn = ratios["sdk"].median, ratios["sdk-long"].median
    report.target("CPU per abort ≤ 0.9× the SDK's default mode", default <= 0.9,
                  f"{default:.2f}× ({ratios['sdk'].cell('×', 2)})")
    report.target("CPU per abort ≤ 1.2× the SDK's long-connection mode", long_conn <= 1.2,
                  f"{long_conn:.2f}× ({ratios['sdk-long'].cell('×', 2)})")


def _collected(stderr: str) -> int:
    match = re.search(r"Collected\s*:\s*(\d+)", stderr)
    if match is None:
        raise RuntimeError(f"no callgrind total in: {stderr[-500:]}")
    return int(match.group(1))


def instructions_per_abort(report: Report) -> None:
    if shutil.which("valgrind") is None:
        report.lines += ["## Instructions per signed abort", "",
                         "valgrind is not installed here: no instruction counts.", ""]
        return
    short, long = report.scale.icount_calls
    counts: dict[str, dict[int, int]] = {name: {} for name in CPU_CLIENTS}
    with tempfile.TemporaryDirectory() as scratch, standin(4 * (long + 40)) as served:
        # One run outside callgrind first, so that every module's bytecode is written:
        # else the short run alone compiles what changed since the last run, and the
        # difference undercounts an abort by that compilation.
        for name, (_, name_of_workload, extra) in CPU_CLIENTS.items():
            workload(name_of_workload.replace("cpu", "icount"), served.endpoint, short, *extra,
                     python=PYTHON if name == "ours" else report.sdk)
        for calls in (short, long):  # alternating: every client short, then every client long
            for name, (_, name_of_workload, extra) in CPU_CLIENTS.items():
                python = PYTHON if name == "ours" else report.sdk
                prefix = ("valgrind", "--tool=callgrind",
                          f"--callgrind-out-file={scratch}/{name}.{calls}.out")
                result = workload(name_of_workload.replace("cpu", "icount"), served.endpoint,
                                  calls, *extra, python=python, prefix=prefix)
                counts[name][calls] = _collected(result["stderr"])
    per_abort = {name: (c[long] - c[short]) / (long - short) for name, c in counts.items()}
    ours = per_abort["ours"]
    report.lines += [
        "## Instructions per signed abort (callgrind)", "",
        f"Instructions executed by the client process, counted by `valgrind --tool=callgrind`: "
        f"a run of {long} aborts minus a run of {short} (both after building the client and "
        f"20 warm-up aborts), divided by {long - short}. Exact counts, immune to other load "
        "on the machine; they do not weigh cache misses or system calls, which the CPU "
        "times above do.", ""]
    report.table(("client", "instructions per abort", "ours ÷ this client"),
                 [(CPU_CLIENTS[name][0], f"{value:,.0f}", f"{ours / value:.2f}×")
                  for name, value in per_abort.items()])
    report.target("instructions per abort ≤ 0.9× the SDK's default mode",
                  ours / per_abort["sdk"] <= 0.9, f"{ours / per_abort['sdk']:.2f}×")
    report.target("instructions per abort ≤ 1.2× the SDK's long-connection mode",
                  ours / per_abort["sdk-long"] <= 1.2, f"{ours / per_abort['sdk-long']:.2f}×")


# -- sweep throughput ----------------------------------------------------------------------

@dataclass
class SweepRow:
    label: str
    workload: str
    args: tuple[object, ...]
    uploads: int
    concurrency: int | None  # None: the engine's default, as the sweep's thread pool says
    python: Path = PYTHON
    rate: Figure = field(default_factory=Figure)
    rpu: Figure = field(default_factory=Figure)
    cpu_per_upload_ms: Figure = field(default_factory=Figure)
    server_cpu_share: Figure = field(default_factory=Figure)
    peak: Figure = field(default_factory=Figure)
    kinds: dict[str, int] = field(default_factory=dict)

    def run(self, delay_ms: float) -> None:
        with standin(self.uploads, delay_ms) as served:
            before = served.counts()
            result = workload(self.workload, served.endpoint, *self.args, python=self.python)
            after = served.counts()
        assert result["aborted"] == self.uploads, (self.label, result)
        assert after["double_aborts"] == 0, (self.label, after)
        requests = sum(after["kinds"].values()) - sum(before["kinds"].values())
        self.kinds = {k: v - before["kinds"].get(k, 0) for k, v in after["kinds"].items()}
        self.rate.values.append(result["per_second"])
        self.rpu.values.append(requests / self.uploads)
        self.cpu_per_upload_ms.values.append(result["cpu_s"] / self.uploads * 1000)
        self.server_cpu_share.values.append((after["cpu_s"] - before["cpu_s"]) / result["seconds"])
        self.peak.values.append(after["peak_in_flight"])
        if self.concurrency is None:
            self.concurrency = result["concurrency"]

    def concurrency_used(self) -> int:
        if self.concurrency is None:
            raise RuntimeError(f"{self.label}: the sweep's concurrency is unknown")
        return self.concurrency

    def rtt_bound(self, delay_ms: float) -> float:
        return self.concurrency_used() / (self.rpu.median * delay_ms / 1000)

    def cpu_bound(self) -> float:
        return 1000 / self.cpu_per_upload_ms.median


def sweep_throughput(report: Report) -> None:
    scale = report.scale
    delay = scale.delay_ms
    defaults = SweepRow("obs-mpu-janitor, defaults", "sweep-ours", ("default",),
                        scale.sweep_uploads, None)
    table = [SweepRow(f"obs-mpu-janitor, concurrency {c}", "sweep-ours", (c,),
                      scale.table_uploads, c) for c in scale.concurrencies]
    baselines = [
        SweepRow("esdk-obs-python, list then abort with 5 threads (obsutil -j 5)", "sweep-sdk",
                 (5,), scale.sdk_threads_uploads, 5, report.sdk),
        SweepRow("esdk-obs-python, list then abort sequentially", "sweep-sdk", (1,),
                 scale.sequential_uploads, 1, report.sdk),
        SweepRow("boto3, paginate then abort sequentially", "sweep-boto3", (),
                 scale.sequential_uploads, 1),
    ]
    every = [defaults, *table, *baselines]
    for _ in range(scale.sweep_rounds):  # alternating: each round runs every row once
        for row in every:
            row.run(delay)

    def pct(row: SweepRow) -> str:
        bound = min(row.rtt_bound(delay), row.cpu_bound())
        return f"{row.rate.median / bound * 100:.0f} %"

    report.lines += [
        "## Sweep throughput", "",
        f"Stale uploads behind a simulated {delay:g} ms round trip; aborts per second, "
        f"medians (min–max) of {scale.sweep_rounds} alternating rounds. Requests per upload "
        "are counted by the stand-in (every listing, ListParts and abort, divided by the "
        "uploads aborted). **RTT bound** = concurrency ÷ (requests per upload × round trip): "
        "the rate if the client cost nothing. **Client 1-core bound** = 1 ÷ the client's CPU "
        "per upload in that same run: the rate if the client ran one core flat out (the GIL "
        "allows no more). The stand-in's CPU, in another process on the other core, is shown "
        "so that it is seen not to be the limit.", ""]
    header = ("run", "uploads", "req/upload", "aborts/s", "RTT bound", "client 1-core bound",
              "of the lower bound", "client CPU/request", "stand-in CPU")

    def line(row: SweepRow) -> tuple[str, ...]:
        cpu_per_request = row.cpu_per_upload_ms.median / row.rpu.median
        return (row.label, f"{row.uploads:,}", f"{row.rpu.median:.3f}", row.rate.cell(),
                f"{row.rtt_bound(delay):.0f} /s", f"{row.cpu_bound():.0f} /s", pct(row),
                f"{cpu_per_request:.3f} ms", f"{row.server_cpu_share.median * 100:.0f} %")

    report.table(header, [line(row) for row in [defaults, *baselines]])
    kinds = ", ".join(f"{k} {v / defaults.uploads:.3f}" for k, v in sorted(defaults.kinds.items()))
    report.lines += [
        f"Defaults: concurrency {defaults.concurrency_used()} (the sweep's thread pool), "
        f"{defaults.peak.median:.0f} requests in flight at most as the stand-in saw them; "
        f"requests per upload by kind: {kinds}.", "",
        "### Concurrency", "",
        f"The same sweep with the defaults but for `concurrency`, over "
        f"{scale.table_uploads:,} uploads each. The lower of the two bounds is what a "
        "concurrency can give; above the crossing more concurrency only adds connections.", ""]
    report.table(header, [line(row) for row in table])
    bound = min(defaults.rtt_bound(delay), defaults.cpu_bound())
    share = defaults.rate.median / bound
    report.target(f"sweep with defaults at {delay:g} ms ≥ 90 % of min(RTT bound, client 1-core "
                  "bound)", share >= 0.9,
                  f"{defaults.rate.median:.0f}/s of {bound:.0f}/s = {share * 100:.0f} %")
    seq = baselines[1].rate.median
    report.target("sweep with defaults ≥ 5× SDK sequential", defaults.rate.median / seq >= 5,
                  f"{defaults.rate.median / seq:.1f}×")


# -- memory and package ----------------------------------------------------------------------

def memory(report: Report) -> None:
    scale = report.scale
    rows, peaks = [], {}
    for size in scale.memory_sizes:
        figure = Figure()
        with standin(size) as served:
            result = workload("memory-dry-run", served.endpoint)
            assert result["seen"] == size == result["would_abort"], result
            figure.values.append(result["peak_rss_mb"])
            reply = result["reply_bytes"]
        peaks[size] = figure.median
        rows.append((f"{size:,}", figure.cell(" MB"), f"{reply / 1024:.0f} KiB"))
    report.lines += ["## Memory", "", "Peak RSS of a dry-run sweep (activity check off) over "
                     "synthetic uploads; the reply stays small because the detail list is capped.",
                     ""]
    report.table(("uploads", "peak RSS", "reply size"), rows)
    smallest, largest = min(peaks), max(peaks)
    growth = peaks[largest] - peaks[smallest]
    report.target(f"memory growth {smallest:,} → {largest:,} ≤ 10 MB", growth <= 10,
                  f"{growth:.1f} MB")


def package(report: Report) -> None:
    from tools.package import DEFAULT_PYTHON, build

    archive = build(DEFAULT_PYTHON, ROOT / "dist")
    done = subprocess.run([str(report.sdk), "-c", "import obs, os; print(os.path.dirname("
                           "obs.__file__))"], capture_output=True, text=True, check=True)
    folder = Path(done.stdout.strip())
    sdk_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()
                    and "__pycache__" not in p.parts)
    report.lines += ["## Package", ""]
    report.table(("artifact", "size"), [
        (f"deploy zip, dependencies included (Python {DEFAULT_PYTHON})",
         f"{archive.stat().st_size / 1024 / 1024:.1f} MB"),
        ("esdk-obs-python installed (`obs/` sources alone, without its dependencies)",
         f"{sdk_bytes / 1024 / 1024:.1f} MB"),
    ])


# -- the report ------------------------------------------------------------------------------

def versions(sdk: Path) -> str:
    from importlib.metadata import version

    ours = ", ".join(f"{n} {version(n)}" for n in ("requests", "pydantic", "urllib3", "boto3"))
    return f"{ours}; the SDK's venv: {', '.join(installed(sdk))}"


def keep_sections(previous: str, new: str) -> str:
    """``new`` followed by every marked section of ``previous``, in its order, unchanged."""
    kept = [m.group(0) for m in SECTION.finditer(previous)]
    return "\n".join([new.rstrip("\n"), *("\n" + section for section in kept)]) + "\n"


def machine() -> str:
    """The CPU model and the core count, as each section of RESULTS.md names its machine."""
    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in
              (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
              if line.startswith("model name")]
    return f"{models[0] if models else platform.processor()}, {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: the smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    report = Report(QUICK if args.quick else FULL, sdk_python())
    started = time.perf_counter()
    sections = [standin_check, cpu_per_abort, instructions_per_abort, sweep_throughput,
                memory, package]
    if not (ROOT / "bench" / "coldstart.py").exists():
        sections.insert(1, cold_start)
    for section in sections:
        print(f"bench: {section.__name__} ...", flush=True)
        section(report)
    head = [
        "# Benchmarks", "",
        f"`make bench{' (quick)' if args.quick else ''}` on {time.strftime('%Y-%m-%d')}: "
        f"{machine()}, Python {platform.python_version()}; "
        f"{versions(report.sdk)}. bench/run.py took {time.perf_counter() - started:.0f} s.", "",
        "## Targets", "",
        "| target | result | met |", "|---|---|---|",
        *(f"| {what} | {detail} | {'yes' if ok else '**no**'} |"
          for what, ok, detail in report.verdicts),
        "",
    ]
    previous = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(keep_sections(previous, "\n".join(head + report.lines)),
                        encoding="utf-8")
    print("\n".join(head[4:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
