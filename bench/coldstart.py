"""``make bench-cold``: cold start in the faithful runtime against the official SDK.

A cold start is a fresh process to the first GetResult: one AbortMultipartUpload against
a stand-in on 127.0.0.1 answering 204. The janitor runs from its built zip in
tools.fgrun (read-only code directory, target interpreter), once as shipped before this
change (no bytecode) and once with the shipped bytecode. The SDK (esdk-obs-python, the
version of requirements-dev.txt) is installed as a user installs it, the SDK and its own
dependencies only, into its own virtualenv under the same interpreter; the baseline runs
it the way a function using it would run: from a zip of that install (bytecode compiled
like ours) with a three-line handler, in the same tools.fgrun runtime, so both sides pay
the runtime's own start (its bootstrap imports json, uuid and datetime). The same SDK
as a bare script from its virtualenv is shown too. Runs alternate (A B C A B C ...). The floors are
``import requests, pydantic`` plus one model, and ``import requests, pydantic_core`` plus
one core schema, with bytecode. Instruction counts come from
``valgrind --tool=callgrind`` (perf's counters are not available on these machines), one
run each. ``-X importtime`` shows what the first event imports.

Writes its section of bench/RESULTS.md between the coldstart markers, nothing else.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tools.fgrun import FunctionRuntime
from tools.package import (
    DEFAULT_PYTHON,
    ROOT,
    build,
    compile_tree,
    find_interpreter,
    zip_tree,
)

RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- coldstart:begin -->", "<!-- coldstart:end -->"
BUCKET, KEY, UPLOAD_ID = "bench", "cold/start.bin", "0" * 32
EVENT = {"bucket": BUCKET, "objectKey": KEY, "uploadId": UPLOAD_ID}
# The SDK's side of the comparison as a FunctionGraph handler: what a user would write.
SDK_HANDLER = """import os

from obs import ObsClient


def handler(event, context):
    client = ObsClient(access_key_id="AK", secret_access_key="SK",
                       server=os.environ["OBS_ENDPOINT"], path_style=True, max_retry_count=0)
    result = client.abortMultipartUpload(event["bucket"], event["objectKey"], event["uploadId"])
    return {"status": result.status}
"""
SDK_SCRIPT = f"""
import sys
from obs import ObsClient
client = ObsClient(access_key_id="AK", secret_access_key="SK", server=sys.argv[1],
                   path_style=True, max_retry_count=0)
result = client.abortMultipartUpload("{BUCKET}", "{KEY}", "{UPLOAD_ID}")
assert result.status == 204, result.status
"""
FLOOR_SCRIPT = """
import requests, pydantic
class Upload(pydantic.BaseModel):
    bucket: str
    key: str
Upload(bucket="b", key="k")
"""
SDK_CASE = "official SDK in the same runtime (zip, bytecode)"
WATCHED = ("pydantic", "charset_normalizer", "annotated_types", "importlib.metadata",
           "email", "dataclasses", "pydantic_core.core_schema", "urllib3.util.url")
CORE_FLOOR_SCRIPT = """
import requests, pydantic_core
from pydantic_core import core_schema as cs
validator = pydantic_core.SchemaValidator(cs.typed_dict_schema({
    "bucket": cs.typed_dict_field(cs.str_schema()), "key": cs.typed_dict_field(cs.str_schema())}))
validator.validate_python({"bucket": "b", "key": "k"})
"""
TARGET = 1.2  # issue #13: the first GetResult within 1.2x the SDK's


class _Answer204(BaseHTTPRequestHandler):
    def _reply(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("x-obs-request-id", "BENCH")
        self.end_headers()

    do_DELETE = do_GET = do_PUT = do_POST = _reply  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


def _sdk_venv(interpreter: Path, base: Path) -> Path:
    version = next(line.split("==")[1].strip() for line in
                   (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
                   if line.startswith("esdk-obs-python=="))
    venv = base / "sdk-venv"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(interpreter), "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"esdk-obs-python=={version}"], check=True, env=env)
    subprocess.run([str(python), "-m", "compileall", "-q", str(venv / "lib")], check=True, env=env)
    return python


def _sdk_zip(interpreter: Path, sdk_python: Path, base: Path) -> Path:
    """The SDK's virtualenv install (minus pip) and SDK_HANDLER as a deploy zip, with
    bytecode compiled as tools/package.py compiles ours (unchecked-hash: the zip keeps no
    exact modification times)."""
    site = next((sdk_python.parent.parent / "lib").glob("python*/site-packages"))
    staging = base / "sdk-package"
    shutil.copytree(site, staging, ignore=shutil.ignore_patterns(
        "pip", "pip-*", "setuptools*", "_distutils_hack", "distutils-precedence.pth",
        "__pycache__"))
    (staging / "index.py").write_text(SDK_HANDLER, encoding="utf-8")
    compile_tree(interpreter, staging)
    return zip_tree(staging, base / "sdk.zip")


def _strip_bytecode(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w") as stripped:
        for info in source.infolist():
            if "__pycache__/" not in info.filename:
                stripped.writestr(info, source.read(info))
    return target


class Bench:
    def __init__(self, interpreter: Path, base: Path, endpoint: str) -> None:
        dist = base / "dist"
        archive = build(_version(interpreter), dist, interpreter=interpreter)
        self.endpoint = endpoint
        self.with_bytecode = FunctionRuntime(archive, interpreter=interpreter, timeout_s=900)
        self.shipped = FunctionRuntime(_strip_bytecode(archive, base / "no-bytecode.zip"),
                                       interpreter=interpreter, timeout_s=900)
        self.sdk_python = _sdk_venv(interpreter, base)
        self.sdk_runtime = FunctionRuntime(_sdk_zip(interpreter, self.sdk_python, base),
                                           interpreter=interpreter, timeout_s=900)
        self.user_data = {"OBS_ENDPOINT": endpoint, "OBS_PATH_STYLE": "true",
                          "ALLOWED_BUCKETS": BUCKET, "OBS_ACCESS_KEY_ID": "AK",
                          "OBS_SECRET_ACCESS_KEY": "SK", "OBS_MAX_RETRY_COUNT": "0"}

    def janitor(self, runtime: FunctionRuntime,
                launcher: tuple[str, ...] = ()) -> tuple[float, str]:
        done = runtime.invoke(EVENT, self.user_data, launcher=launcher)
        if done.result.get("status") != 204:
            raise RuntimeError(f"the janitor did not abort: {done.result}")
        return done.seconds, done.stderr

    def sdk_in_runtime(self, launcher: tuple[str, ...] = ()) -> tuple[float, str]:
        done = self.sdk_runtime.invoke(EVENT, self.user_data, launcher=launcher)
        if done.result.get("status") != 204:
            raise RuntimeError(f"the SDK did not abort: {done.result}")
        return done.seconds, done.stderr

    def sdk(self, launcher: tuple[str, ...] = ()) -> tuple[float, str]:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": str(self.shipped.tmp_dir)}
        started = time.perf_counter()
        done = subprocess.run(
            [*self.with_bytecode.wrapper, *launcher, str(self.sdk_python), "-s", "-c",
             SDK_SCRIPT, self.endpoint],
            cwd=self.with_bytecode.tmp_dir, env=env, capture_output=True, text=True,
            check=False, timeout=900)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"the SDK run failed:\n{done.stderr}")
        return seconds, done.stderr

    def floor(self, launcher: tuple[str, ...] = (), script: str = FLOOR_SCRIPT,
              ) -> tuple[float, str]:
        started = time.perf_counter()
        done = self.with_bytecode.run_python(script, launcher=launcher)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"the floor run failed:\n{done.stderr}")
        return seconds, done.stderr

    def close(self) -> None:
        self.with_bytecode.close()
        self.shipped.close()
        self.sdk_runtime.close()


def _version(interpreter: Path) -> str:
    done = subprocess.run(
        [str(interpreter), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _instructions(stderr: str) -> int:
    match = re.search(r"Collected : (\d+)", stderr)
    if not match:
        raise RuntimeError(f"no callgrind total in:\n{stderr[-2000:]}")
    return int(match[1])


def _import_profile(stderr: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Self time (us) per top-level package, per watched module, and in total."""
    per_package: dict[str, int] = defaultdict(int)
    watched: dict[str, int] = defaultdict(int)
    total = 0
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if not match:
            continue
        self_us, name = int(match[1]), match[4]
        total += self_us
        per_package[name.split(".")[0]] += self_us
        for prefix in WATCHED:
            if name == prefix or name.startswith(prefix + "."):
                watched[prefix] += self_us
    return dict(per_package), dict(watched), total


def run(python_version: str, runs: int, callgrind: bool) -> str:
    interpreter = find_interpreter(python_version)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer204)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="coldstart-") as temp:
        bench = Bench(interpreter, Path(temp), endpoint)
        try:
            return _measure(bench, interpreter, python_version, runs, callgrind)
        finally:
            bench.close()
            server.shutdown()


def _measure(bench: Bench, interpreter: Path, python_version: str, runs: int,
             callgrind: bool) -> str:
    times: dict[str, list[float]] = defaultdict(list)
    cases = {
        "janitor, as shipped before (no bytecode)": lambda **k: bench.janitor(bench.shipped, **k),
        "janitor, with shipped bytecode": lambda **k: bench.janitor(bench.with_bytecode, **k),
        "floor: import requests, pydantic + one model": lambda **k: bench.floor(**k),
        "floor: import requests, pydantic_core + one core schema":
            lambda **k: bench.floor(script=CORE_FLOOR_SCRIPT, **k),
        SDK_CASE: lambda **k: bench.sdk_in_runtime(**k),
        "official SDK, bare script in its venv (no runtime)": lambda **k: bench.sdk(**k),
    }
    for case in cases.values():  # one warm-up each: page cache, not bytecode
        case()
    for _ in range(runs):
        for name, case in cases.items():  # A B C D A B C D ...
            times[name].append(case()[0])
    counts: dict[str, int] = {}
    if callgrind and shutil.which("valgrind"):
        launcher = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
        for name, case in cases.items():
            counts[name] = _instructions(case(launcher=launcher)[1])
    profile_stderr = bench.with_bytecode.invoke(EVENT, bench.user_data,
                                                python_options=("-X", "importtime")).stderr
    per_package, watched, total = _import_profile(profile_stderr)
    return _report(times, counts, per_package, watched, total, interpreter, python_version, runs)


def _report(times: dict[str, list[float]], counts: dict[str, int], per_package: dict[str, int],
            watched: dict[str, int], total: int, interpreter: Path, python_version: str,
            runs: int) -> str:
    sdk = SDK_CASE
    sdk_median = statistics.median(times[sdk])
    lines = [
        "## Cold start in the faithful runtime (`make bench-cold`)",
        "",
        f"CPython {python_version} ({interpreter}), {runs} alternating runs per case, "
        f"{time.strftime('%Y-%m-%d')}. A fresh process to the first GetResult: one abort "
        "against a stand-in on 127.0.0.1 answering 204. The janitor runs from its built zip "
        "in `tools.fgrun` (read-only code directory, isolated interpreter); so does the SDK, "
        "installed with its own dependencies only and zipped with a three-line handler, its "
        "bytecode compiled the same way: both pay the runtime's start. The bare-script row "
        "runs the SDK from its virtualenv outside the runtime, for reference. "
        "Instructions: `valgrind --tool=callgrind`, one run each.",
        "",
        "| Case | median s | min s | × SDK (time) | instructions | × SDK (instructions) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in times.items():
        count = counts.get(name)
        count_text = f"{count:,}" if count else "n/a"
        count_ratio = f"{count / counts[sdk]:.2f}" if count and counts.get(sdk) else "n/a"
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.3f} | {min(values):.3f} | "
                     f"{median / sdk_median:.2f} | {count_text} | {count_ratio} |")
    janitor = "janitor, with shipped bytecode"
    time_ratio = statistics.median(times[janitor]) / sdk_median
    count_ratio_value = (counts[janitor] / counts[sdk]
                         if counts.get(janitor) and counts.get(sdk) else None)
    met = time_ratio <= TARGET and (count_ratio_value is None or count_ratio_value <= TARGET)
    lines += [
        "",
        f"**Target: the janitor's first GetResult ≤ {TARGET}× the SDK's** (with shipped "
        f"bytecode, against the SDK in the same runtime): {time_ratio:.2f}× in time"
        + (f", {count_ratio_value:.2f}× in instructions" if count_ratio_value else "")
        + f" — {'met' if met else '**not met**'}.",
        "",
        "The abort path imports neither pydantic's Python layer (the event is validated by "
        "a pydantic-core schema, handler/events/abandonment.py) nor charset_normalizer (left "
        "out of the zip, tools/package.py), nor the listing, lifecycle and date code "
        "(handler.obs exports lazily). The two floors show what each validation layer costs "
        "with requests: the Python layer is the difference between them.",
    ]
    lines += [
        "",
        "What the first event imports (`-X importtime`, janitor with bytecode; "
        f"{total / 1000:.0f} ms of import self time in all). By top-level package:",
        "",
        "| Package | self ms | share |",
        "|---|---:|---:|",
    ]
    for package, micros in sorted(per_package.items(), key=lambda item: -item[1])[:15]:
        lines.append(f"| `{package}` | {micros / 1000:.1f} | {micros / total:.0%} |")
    lines += ["", "Watched modules (self ms, their own modules only; the first three are off "
              "the abort path now, the rest come with requests, urllib3 and pydantic-core):", ""]
    for prefix in WATCHED:
        lines.append(f"- `{prefix}`: {watched.get(prefix, 0) / 1000:.1f} ms")
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replace the text between the markers (appending them when missing); nothing else."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{BEGIN}\n{section}{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text + ("" if text.endswith("\n") or not text else "\n") + "\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python-version", default=DEFAULT_PYTHON)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--print-only", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    section = run(args.python_version, args.runs, callgrind=not args.no_callgrind)
    print(section)
    if not args.print_only:
        write_section(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
