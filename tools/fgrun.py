"""``python -m tools.fgrun EVENT.json``: the built zip, run as FunctionGraph runs it.

Dev-only. The zip is unpacked into a temporary directory that is then made read-only
(chmod -R a-w; as root, which ignores permission bits, also a read-only bind mount in a
private mount namespace), and one invocation runs in a fresh child process of the
target runtime's interpreter:

- cwd is the code directory, the only writable place is a temporary directory (TMPDIR);
- the environment holds the runtime's RUNTIME_* variables and the user data, nothing of
  this shell (no PYTHONDONTWRITEBYTECODE, no PYTHONPATH, no virtualenv);
- ``-I -S``: no user site, no site-packages, so only the zip and the stdlib are importable;
- the handler is loaded by its handler string (``index.handler``: module, attribute);
- the context has the official table's methods and its logger writes the runtime's line
  format (tools/fgrun_bootstrap.py; docs/functiongraph.md).

The function's stdout and stderr (its log stream) go to stderr; the handler's result is
printed, as JSON, on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.package import DEFAULT_PYTHON, ROOT, ZIP_NAME, find_interpreter

BOOTSTRAP = Path(__file__).with_name("fgrun_bootstrap.py")
HANDLER = "index.handler"


@dataclass
class Invocation:
    """What one run produced: the result, the log stream, and what the child saw."""

    result: Any
    stdout: str
    stderr: str
    seconds: float
    source_compiled: list[str] = field(default_factory=list)
    code_modules: list[str] = field(default_factory=list)
    dont_write_bytecode: bool = False


class FunctionRuntime:
    """An unpacked, read-only code directory and the interpreter to run it with.
    Use as a context manager; the temporary directory goes at exit."""

    def __init__(self, archive: Path, python_version: str = DEFAULT_PYTHON, *,
                 interpreter: Path | None = None, handler: str = HANDLER,
                 timeout_s: int = 900, memory_mb: int = 256) -> None:
        self.interpreter = interpreter or find_interpreter(python_version)
        self.handler = handler
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._temp = tempfile.TemporaryDirectory(prefix="fgrun-")
        base = Path(self._temp.name)
        self.code_dir = base / "code"
        self.tmp_dir = base / "tmp"
        self.runtime_dir = base / "runtime"
        for directory in (self.code_dir, self.tmp_dir, self.runtime_dir):
            directory.mkdir()
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(self.code_dir)
        shutil.copy(BOOTSTRAP, self.runtime_dir / "bootstrap.py")
        _make_read_only(self.code_dir)
        self._wrap = _read_only_mount_wrapper(self.code_dir)

    def __enter__(self) -> FunctionRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for path in [self.code_dir, *self.code_dir.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        self._temp.cleanup()

    def environment(self, user_data: dict[str, str]) -> dict[str, str]:
        """The child's whole environment: the runtime's variables and the user data
        (FunctionGraph exposes user data both ways: getUserData and os.environ)."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.tmp_dir),
            "TMPDIR": str(self.tmp_dir),
            "RUNTIME_FUNC_NAME": "obs-mpu-janitor",
            "RUNTIME_FUNC_VERSION": "latest",
            "RUNTIME_PACKAGE": "default",
            "RUNTIME_PROJECT_ID": "0" * 32,
            "RUNTIME_HANDLER": self.handler,
            "RUNTIME_TIMEOUT": str(self.timeout_s),
            "RUNTIME_MEMORY": str(self.memory_mb),
            "RUNTIME_CPU": str(max(200, self.memory_mb * 100 // 128)),
            "RUNTIME_CODE_ROOT": str(self.code_dir),
            "RUNTIME_USERDATA": json.dumps(user_data),
            **user_data,
        }

    @property
    def wrapper(self) -> list[str]:
        """What makes the code directory read-only for a command put after it."""
        return list(self._wrap)

    def command(self, *, python_options: tuple[str, ...] = (),
                launcher: tuple[str, ...] = ()) -> list[str]:
        """``launcher`` (e.g. valgrind) runs the interpreter, inside the read-only view."""
        return [*self._wrap, *launcher, str(self.interpreter), "-I", "-S", *python_options,
                str(self.runtime_dir / "bootstrap.py"), str(self.runtime_dir)]

    def run_python(self, source: str, user_data: dict[str, str] | None = None, *,
                   python_options: tuple[str, ...] = (),
                   launcher: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """``python -c source`` in the same process setting as an invocation (a probe, or
        a benchmark's import floor)."""
        return subprocess.run(
            [*self._wrap, *launcher, str(self.interpreter), "-I", "-S", *python_options, "-c",
             f"import sys; sys.path.insert(0, {str(self.code_dir)!r})\n{source}"],
            cwd=self.code_dir, env=self.environment(user_data or {}), capture_output=True,
            text=True, timeout=self.timeout_s + 30, check=False,
        )

    def invoke(self, event: Any, user_data: dict[str, str] | None = None, *,
               agency: dict[str, str] | None = None, trace_compiles: bool = False,
               python_options: tuple[str, ...] = (),
               launcher: tuple[str, ...] = ()) -> Invocation:
        """One cold start: a fresh process, the handler imported, one event handled."""
        result_file = self.runtime_dir / "result.json"
        result_file.unlink(missing_ok=True)
        (self.runtime_dir / "invocation.json").write_text(json.dumps(
            {"event": event, "agency": agency or {}, "trace_compiles": trace_compiles}),
            encoding="utf-8")
        started = time.perf_counter()
        done = subprocess.run(
            self.command(python_options=python_options, launcher=launcher), cwd=self.code_dir,
            env=self.environment(user_data or {}), capture_output=True, text=True,
            timeout=self.timeout_s + 30, check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0 or not result_file.exists():
            raise RuntimeError(f"the function process failed ({done.returncode}):\n{done.stderr}"
                               f"\n{done.stdout}")
        report = json.loads(result_file.read_text(encoding="utf-8"))
        return Invocation(report["result"], done.stdout, done.stderr, seconds,
                          report["source_compiled"], report["code_modules"],
                          report["dont_write_bytecode"])


def _make_read_only(tree: Path) -> None:
    for path in [*tree.rglob("*"), tree]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _read_only_mount_wrapper(code_dir: Path) -> list[str]:
    """Root writes through permission bits: then the child runs in a private mount
    namespace where the code directory is a read-only bind mount."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SystemExit("fgrun: running as root needs util-linux `unshare` to make the code "
                         "directory read-only (or run as an unprivileged user)")
    quoted = str(code_dir).replace("'", "'\\''")
    # cd again after mounting: a cwd opened before the mount still writes through.
    script = (f"mount --bind '{quoted}' '{quoted}' && "
              f"mount -o remount,bind,ro '{quoted}' && cd '{quoted}' && exec \"$@\"")
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "fgrun"]


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fgrun", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", type=Path, help="a JSON event file, e.g. events/abort.json")
    parser.add_argument("--zip", type=Path, default=ROOT / "dist" / ZIP_NAME,
                        help="the built deploy zip (make package)")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="the runtime's Python version")
    parser.add_argument("--set", dest="settings", type=_key_value, action="append", default=[],
                        metavar="KEY=VALUE", help="user data (a function environment variable)")
    parser.add_argument("--handler", default=HANDLER, help="the handler string")
    parser.add_argument("--timeout", type=int, default=900, help="the function's timeout, seconds")
    args = parser.parse_args(argv)
    if not args.zip.is_file():
        print(f"fgrun: {args.zip} does not exist; run `make package` first", file=sys.stderr)
        return 2
    event = json.loads(args.event.read_text(encoding="utf-8"))
    with FunctionRuntime(args.zip, args.python, handler=args.handler,
                         timeout_s=args.timeout) as runtime:
        done = runtime.invoke(event, dict(args.settings))
    sys.stderr.write(done.stdout + done.stderr)
    print(json.dumps(done.result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
