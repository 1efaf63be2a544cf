"""The janitor beside ``rclone backend cleanup`` on Ceph RGW, on the same fresh uploads.

    python -m bench.rgw [--runs 3] [--uploads 1000]

Each run makes a fresh bucket of stale uploads (50 with special keys, 75 with a part),
then cleans it with one tool; the tools alternate (janitor, rclone, janitor, ...) so
that neither always meets a warmer server. After each run boto3 asks what is left.
Requests are counted from RGW's own log (one ``beast:`` line per request), so both
tools are counted the same way. Writes its section of bench/RESULTS.md between
``<!-- rgw:begin -->`` and ``<!-- rgw:end -->``.

"Stale" means older than min_age on the server's clock. The uploads are seconds old,
and a sweep refuses min_age below 1h unless ``force`` is true: the janitor runs with
``min_age=2s, force=true`` and otherwise default settings (activity check and
verification on), rclone with ``-o max-age=2s``; both after waiting 3.5 s (the Date
header that gives the server's clock has whole seconds).

Both tools run as a fresh process, timed from spawn to exit: the janitor as
``python -m tools.invoke sweep`` (what an operator runs beside rclone), so that its
interpreter start, imports and first connection count as rclone's start does. (Timing
the handler in this process instead would leave them out and reuse a warm client.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.run import machine
from handler.obs import ObsClient
from tools.rgw import (
    BINARIES,
    PACKAGES,
    RGW_ACCESS_KEY,
    RGW_SECRET_KEY,
    RgwError,
    clean_environment,
    ensure_installed,
    rgw_server,
    tolerate_control_characters,
)

if TYPE_CHECKING:
    from tools.rgw import Rgw

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- rgw:begin -->", "<!-- rgw:end -->"
# rclone (its Go XML decoder) stops at a key with ESC: the timed runs leave ESC out, and
# a separate probe shows what each tool does with one.
SPECIAL_CHARS = [" ", "+", "%", "&", "=", "#", "?", "~", "中", "é"]
SETTLE_S = 3.5


@dataclass
class Run:
    tool: str
    uploads: int
    wall_s: float
    requests: int
    left: int
    left_special: int
    bytes_expected: int
    bytes_reported: int | None
    # The janitor's own figure for its sweep (summary.duration_ms): wall_s less the
    # interpreter's start, the imports and the reply's printing.
    sweep_s: float | None = None


def make_uploads(rgw: Rgw, bucket: str, count: int, *, escape: bool = False
                 ) -> tuple[dict[str, str], int]:
    """``count`` uploads, 50 with special keys, 75 with one part; returns keys and bytes.

    Started with our signed client: boto3 cannot read the reply for a key with ESC.
    """
    client = ObsClient(RGW_ACCESS_KEY, RGW_SECRET_KEY, rgw.endpoint, pool_size=16)
    rgw.boto3_client().create_bucket(Bucket=bucket)  # our client sends no keyless PUT
    keys = [f"plain/{i:05d}.bin" for i in range(count - 50)]
    chars = [*SPECIAL_CHARS, "\x1b"] if escape else SPECIAL_CHARS
    specials = min(50, count)
    keys = keys[: count - specials] + [
        f"special/{i:02d}{chars[i % len(chars)]}x{'+%' if i % 7 == 0 else ''}.bin"
        for i in range(specials)]
    with_part = set(keys[::max(1, count // 75)][:75])
    sizes = {key: 1024 * (1 + n % 8) for n, key in enumerate(sorted(with_part))}

    def start(key: str) -> tuple[str, str]:
        reply = client.request("POST", bucket, key, [("uploads", None)], parse_body=lambda t: t)
        found = re.search(r"<UploadId>(.*?)</UploadId>", reply.body or "")
        if reply.status != 200 or found is None:
            raise RuntimeError(f"could not start an upload of {key!r}: {reply.status}")
        return key, found.group(1)

    with ThreadPoolExecutor(16) as pool:
        made = dict(pool.map(start, keys))
    s3 = rgw.boto3_client()
    s3 = tolerate_control_characters(s3)
    for key in sizes:  # our client sends no bodies; boto3 does
        s3.upload_part(Bucket=bucket, Key=key, UploadId=made[key], PartNumber=1,
                       Body=b"p" * sizes[key])
    client.close()
    return made, sum(sizes.values())


def left_on_server(rgw: Rgw, bucket: str) -> list[str]:
    s3 = tolerate_control_characters(rgw.boto3_client())
    keys: list[str] = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        keys += [u["Key"] for u in page.get("Uploads", [])]
    return keys


class RequestLog:
    """Counts the requests RGW logged for one bucket since ``mark``."""

    def __init__(self, rgw: Rgw) -> None:
        self.path = rgw.directory / "logs" / "client.rgw.a.log"
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def count(self, bucket: str) -> int:
        time.sleep(0.5)  # RGW writes its log line just after the answer
        with self.path.open("rb") as log:
            log.seek(self.offset)
            lines = log.read().decode("utf-8", errors="replace").splitlines()
        pattern = re.compile(rf'beast: .* "(?:GET|PUT|POST|DELETE|HEAD) /{re.escape(bucket)}[/? ]')
        return sum(1 for line in lines if pattern.search(line))


def run_janitor(rgw: Rgw, bucket: str) -> tuple[float, dict[str, Any]]:
    """``python -m tools.invoke sweep`` in a fresh process, timed as rclone is: from
    spawn to exit, so interpreter start, imports and the first connection count for both
    tools. The settings go in the environment (the CLI reads them there), not argv."""
    # With its bytecode, as an installed tool runs: these machines set
    # PYTHONDONTWRITEBYTECODE=1, under which every run would compile the project from
    # source (about 0.2 G instructions; compile_project writes the bytecode once).
    env = {k: v for k, v in clean_environment(rgw.settings(ALLOWED_BUCKETS=bucket)).items()
           if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "tools.invoke", "sweep", "--bucket", bucket,
               "--older-than", "2s", "--force", "--quiet", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)
    wall = time.perf_counter() - started
    if not done.stdout.lstrip().startswith("{"):
        raise RuntimeError(f"the sweep exited {done.returncode}: {done.stderr[-1500:]}")
    reply: dict[str, Any] = json.loads(done.stdout)
    return wall, reply


def compile_project() -> None:
    """Bytecode for handler/ and tools/ by this interpreter, once before the runs."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "handler", "tools"], cwd=ROOT,
                   env=env, check=True, capture_output=True)


def run_rclone(rgw: Rgw, bucket: str, *, check: bool = True) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as config:
        env = clean_environment({
            "RCLONE_CONFIG": config.name,
            "RCLONE_CONFIG_RGW_TYPE": "s3", "RCLONE_CONFIG_RGW_PROVIDER": "Ceph",
            "RCLONE_CONFIG_RGW_ACCESS_KEY_ID": RGW_ACCESS_KEY,
            "RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY": RGW_SECRET_KEY,
            "RCLONE_CONFIG_RGW_ENDPOINT": rgw.endpoint, "RCLONE_CONFIG_RGW_REGION": "us-east-1",
        })
        started = time.perf_counter()
        done = subprocess.run(["rclone", "backend", "cleanup", f"rgw:{bucket}", "-o", "max-age=2s"],
                              env=env, capture_output=True, text=True, timeout=600, check=False)
        wall = time.perf_counter() - started
    if done.returncode != 0 and check:
        raise RuntimeError(f"rclone exited {done.returncode}: {done.stderr[-1500:]}")
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        raise RcloneFailedError(done.returncode, last.split(": ")[-1])
    return wall


class RcloneFailedError(RuntimeError):
    def __init__(self, code: int, cause: str) -> None:
        super().__init__(f"exit {code}: {cause}")


def escape_probe(rgw: Rgw) -> list[str]:
    """Each tool on 20 uploads of which a few have ESC in their key: what is left."""
    rows = []
    for tool in ("janitor", "rclone"):
        bucket = f"bench-esc-{tool}-{time.time_ns() % 10**8}"
        made, _ = make_uploads(rgw, bucket, 20, escape=True)
        escaped = sum(1 for key in made if "\x1b" in key)
        time.sleep(SETTLE_S)
        outcome = "ran"
        if tool == "janitor":
            _, reply = run_janitor(rgw, bucket)
            outcome = f"aborted {reply['summary']['aborted']}, errors {len(reply['errors'])}"
        else:
            try:
                run_rclone(rgw, bucket, check=False)
            except RcloneFailedError as exc:
                outcome = f"failed ({exc})"
        left = len(left_on_server(rgw, bucket))
        rows.append(f"| {tool} | {len(made)} ({escaped} with ESC) | {outcome} | {left} |")
    return rows


def one_run(rgw: Rgw, log: RequestLog, tool: str, index: int, count: int) -> Run:
    bucket = f"bench-{tool}-{index}-{time.time_ns() % 10**8}"
    made, expected = make_uploads(rgw, bucket, count)
    time.sleep(SETTLE_S)
    log.mark()
    reported: int | None = None
    sweep: float | None = None
    if tool == "janitor":
        wall, reply = run_janitor(rgw, bucket)
        reported = int(reply["summary"]["bytes_reclaimed"])
        sweep = reply["summary"]["duration_ms"] / 1000
    else:
        wall = run_rclone(rgw, bucket)
    requests = log.count(bucket)
    left = left_on_server(rgw, bucket)
    special = sum(1 for key in left if key.startswith("special/"))
    return Run(tool, len(made), wall, requests, len(left), special, expected, reported, sweep)


def _per_upload(runs: list[Run]) -> float:
    return statistics.median(r.requests / r.uploads for r in runs)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def section(runs: list[Run], probe: list[str], ceph: str, rclone: str, took: float) -> str:
    by_tool = {tool: [r for r in runs if r.tool == tool] for tool in ("janitor", "rclone")}
    lines = [
        BEGIN, "", "## Ceph RGW: the janitor beside rclone", "",
        f"`python -m bench.rgw` on {time.strftime('%Y-%m-%d')}: {machine()}; {ceph}, "
        f"{rclone}; "
        f"a fresh bucket of {runs[0].uploads} stale uploads per run (50 with special keys: "
        "space + % & = # ? ~ 中 é; 75 with one part), tools alternating, "
        f"{len(by_tool['janitor'])} runs each; took {took:.0f} s. The janitor runs its default "
        "sweep (activity check and verification on) as `python -m tools.invoke sweep "
        "--older-than 2s --force`; rclone `backend cleanup -o max-age=2s`. Both are timed "
        "from spawn to exit (the janitor's interpreter start and imports count, as rclone's "
        "start does; the janitor runs with its bytecode, as an installed tool does); "
        "\"sweep\" is the janitor's own `duration_ms`. Requests counted from "
        "RGW's log.", "",
        "| run | tool | wall time | sweep | requests | per upload | left (special) "
        "| bytes reported / on server |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(runs, 1):
        shown = "n/a" if r.bytes_reported is None else f"{r.bytes_reported:,}"
        sweep = "n/a" if r.sweep_s is None else f"{r.sweep_s:.2f} s"
        lines.append(f"| {n} | {r.tool} | {r.wall_s:.2f} s | {sweep} | {r.requests:,} | "
                     f"{r.requests / r.uploads:.2f} | {r.left} ({r.left_special}) | "
                     f"{shown} / {r.bytes_expected:,} |")
    jan, rcl = by_tool["janitor"], by_tool["rclone"]
    ratio = statistics.median(r.wall_s for r in jan) / statistics.median(r.wall_s for r in rcl)
    exact = all(r.bytes_reported == r.bytes_expected for r in jan)
    lines += [
        "", "| | janitor | rclone |", "|---|---|---|",
        f"| wall time, median (min–max) | {_median([r.wall_s for r in jan])} s | "
        f"{_median([r.wall_s for r in rcl])} s |",
        f"| of which sweeping, median | {_median([r.sweep_s or 0.0 for r in jan])} s | n/a |",
        f"| requests per upload, median | {_per_upload(jan):.2f} | {_per_upload(rcl):.2f} |",
        f"| uploads left, all runs | {sum(r.left for r in jan)} | {sum(r.left for r in rcl)} |",
        f"| bytes reported exactly | {'yes' if exact else '**no**'} | not reported |",
        f"| wall time janitor / rclone | {ratio:.2f}× | 1.00× |",
        "", "A key with ESC (RGW lists it as `&#x1b;`, which XML 1.0 forbids):", "",
        "| tool | uploads | outcome | left |", "|---|---|---|---|", *probe,
        "", END,
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        RESULTS.write_text(head + text + tail, encoding="utf-8")
    else:
        RESULTS.write_text(current.rstrip("\n") + "\n\n" + text + "\n", encoding="utf-8")


def versions() -> tuple[str, str]:
    def first_line(*command: str) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env=clean_environment())
        text = (done.stdout or done.stderr).strip()
        return text.splitlines()[0] if text else "?"
    ceph = first_line("ceph", "--version").split(" (")[0]
    return ceph, first_line("rclone", "version")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rgw")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool")
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument("--skip-if-missing", action="store_true",
                        help="exit 0 with a note when Ceph or rclone is missing and cannot be "
                             "installed (make bench: the other benchmarks still count)")
    options = parser.parse_args(argv)
    os.environ.pop("AWS_CA_BUNDLE", None)
    started = time.monotonic()
    try:  # Ceph's packages and rclone in one apt run; rgw_server then finds them
        ensure_installed((*BINARIES, "rclone"), (*PACKAGES, "rclone"))
    except RgwError as exc:
        if not options.skip_if_missing:
            raise
        print(f"bench.rgw: skipped, RESULTS.md's RGW section left as it was: {exc}",
              file=sys.stderr)
        return 0
    compile_project()
    with rgw_server() as rgw:
        log = RequestLog(rgw)
        runs = []
        for index in range(options.runs * 2):
            tool = ("janitor", "rclone")[index % 2]
            runs.append(one_run(rgw, log, tool, index, options.uploads))
            print(json.dumps(runs[-1].__dict__), flush=True)
        probe = escape_probe(rgw)
        text = section(runs, probe, *versions(), took=time.monotonic() - started)
    print(text)
    if not options.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
