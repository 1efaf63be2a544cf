"""``make package``: the FunctionGraph deploy zip, self-contained, runtime dependencies only.

Layout (docs/functiongraph.md, "Code package"): the zip's root holds ``index.py``
(re-exporting ``handler.index.handler``, so the handler string is the documented
``index.handler``), the ``handler/`` package, and the wheels of requirements.txt for the
target Python, fetched for manylinux x86_64 so the zip does not lean on the runtime's
preinstalled ``requests`` or ``obs``.

Every module ships with bytecode compiled by the target runtime's own interpreter. The
runtime unpacks the code into a directory the function cannot write, on every new
instance, so without shipped bytecode each cold start compiles requests, urllib3,
pydantic and the handler from source. ``unchecked-hash`` bytecode is used because the
zip does not keep modification times precisely enough for timestamp checks.

``dist/package/`` is left identical to the zip: ``s deploy`` (template.yaml) zips that
directory itself, so whatever else lay there would be uploaded too.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIP_NAME = "obs-mpu-janitor.zip"
# The newest Python runtime FunctionGraph documents (docs/functiongraph.md, "Runtimes").
DEFAULT_PYTHON = "3.12"
MAX_BYTES = 40 * 1024 * 1024  # the console's upload limit (docs/functiongraph.md, "Limits")
# Development entry points: never imported by the function, so never shipped. Named one
# by one so the rule holds whether or not they still live in handler/.
DEV_ONLY = ("handler/cli.py", "handler/local.py", "handler/__main__.py")
# Installed as dependencies of requirements.txt, then left out of the zip. requests only
# uses charset_normalizer to guess the encoding of a body that declares none, and no
# body this function reads needs a guess: OBS sends XML (UTF-8 by XML's own rule) and
# JSON (read as UTF-8 by requests without detection). Without it requests falls back to
# UTF-8 and warns once at import (handler/__init__.py silences that warning); a cold
# start saves its import (bench/RESULTS.md, "Cold start").
LEFT_OUT = ("charset_normalizer",)
SHIM = '''"""FunctionGraph entry: handler string ``index.handler``."""

from handler.index import handler

__all__ = ["handler"]
'''


class TargetPythonMissing(SystemExit):
    """The target runtime's interpreter is not on this machine."""


def find_interpreter(version: str) -> Path:
    """The interpreter of CPython ``version`` (e.g. "3.12"): $PYTHON_TARGET, else pyenv's
    newest patch release of it, else ``python3.12`` on PATH. Its version is checked."""
    candidates: list[str] = []
    if os.environ.get("PYTHON_TARGET"):
        candidates.append(os.environ["PYTHON_TARGET"])
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = glob.glob(str(pyenv_root / "versions" / f"{version}.*" / "bin" / "python"))
    candidates += sorted(found, key=_patch_level, reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if _reports_version(candidate, version):
            return Path(candidate)
    raise TargetPythonMissing(
        f"CPython {version} (the FunctionGraph runtime Python{version}) was not found: "
        f"install it (e.g. `pyenv install {version}`) or point PYTHON_TARGET at its "
        f"interpreter (PYTHON_TARGET=/path/to/python{version})"
        + (f"; PYTHON_TARGET={os.environ['PYTHON_TARGET']} is not Python {version}"
           if os.environ.get("PYTHON_TARGET") else "")
    )


def _patch_level(path: str) -> tuple[int, ...]:
    release = Path(path).parent.parent.name  # .../versions/3.12.1/bin/python
    return tuple(int(part) for part in release.split(".") if part.isdigit())


def _reports_version(interpreter: str, version: str) -> bool:
    try:
        done = subprocess.run(
            [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def cache_tag(interpreter: Path) -> str:
    """The bytecode tag of ``interpreter``, e.g. ``cpython-312``."""
    done = subprocess.run(
        [str(interpreter), "-c", "import sys; print(sys.implementation.cache_tag)"],
        capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.strip()


def build(python_version: str, out: Path, *, platform: str = "manylinux2014_x86_64",
          interpreter: Path | None = None) -> Path:
    target = interpreter or find_interpreter(python_version)
    staging = out / "package"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         # --no-compile: pip would write bytecode for *this* Python, not the target's.
         "--no-compile", "--target", str(staging), "--platform", platform,
         "--python-version", python_version, "--implementation", "cp", "--only-binary=:all:",
         "-r", str(ROOT / "requirements.txt"), "-c", str(ROOT / "constraints.txt")],
        check=True,
    )
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: useless in a function
    for name in LEFT_OUT:
        for path in [staging / name, *staging.glob(f"{name}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)
    # Third-party test suites ride along in some wheels; a function never runs them.
    for path in [*staging.rglob("tests"), *staging.rglob("test_*.py")]:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    shutil.copytree(ROOT / "handler", staging / "handler",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in DEV_ONLY:
        (staging / name).unlink(missing_ok=True)
    (staging / "index.py").write_text(SHIM, encoding="utf-8")
    if (staging / "obs").exists():
        raise SystemExit("refusing to package: a top-level 'obs' would shadow the runtime's SDK")
    compile_tree(target, staging)
    return zip_tree(staging, out / ZIP_NAME)


def zip_tree(tree: Path, archive: Path) -> Path:
    """Every file of ``tree`` into ``archive`` (replaced), at its path relative to ``tree``,
    in sorted order so that two builds of the same tree give the same listing."""
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(tree).as_posix())
    return archive


def compile_tree(interpreter: Path, tree: Path) -> None:
    """Bytecode for every module of ``tree``, by ``interpreter``; nothing else's."""
    for stale in [*tree.rglob("__pycache__")]:
        shutil.rmtree(stale)
    for stray in tree.rglob("*.pyc"):
        stray.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run(
        [str(interpreter), "-I", "-m", "compileall", "-q", "-j", "0",
         "--invalidation-mode", "unchecked-hash", str(tree)],
        check=True, env=env,
    )
    missing = missing_bytecode(tree, cache_tag(interpreter))
    if missing:
        raise SystemExit(f"no bytecode for {len(missing)} modules, e.g. {missing[0]}")


def missing_bytecode(tree: Path, tag: str) -> list[str]:
    """Modules of ``tree`` without ``__pycache__/<name>.<tag>.pyc``."""
    return [
        path.relative_to(tree).as_posix() for path in sorted(tree.rglob("*.py"))
        if not (path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").is_file()
    ]


def tree_bytes(tree: Path) -> int:
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())


def differences(tree: Path, archive: Path) -> list[str]:
    """Files that differ between ``tree`` and ``archive`` (missing, extra or changed)."""
    with zipfile.ZipFile(archive) as zipped:
        zipped_files = {info.filename: info for info in zipped.infolist() if not info.is_dir()}
        on_disk = {p.relative_to(tree).as_posix(): p for p in tree.rglob("*") if p.is_file()}
        zipped_only = sorted(zipped_files.keys() - on_disk.keys())
        tree_only = sorted(on_disk.keys() - zipped_files.keys())
        problems = [f"only in the zip: {n}" for n in zipped_only]
        problems += [f"only in {tree.name}/: {n}" for n in tree_only]
        for name in sorted(zipped_files.keys() & on_disk.keys()):
            if zipped.read(name) != on_disk[name].read_bytes():
                problems.append(f"differs: {name}")
    return problems


def size_problems(tree: Path, archive: Path) -> list[str]:
    """The 40 MB limit, held against the zip and against ``dist/package/`` unpacked
    (what ``s deploy`` zips: its own zip is smaller than the files it holds)."""
    problems = []
    sizes = ((archive.name, archive.stat().st_size), (f"{tree.name}/", tree_bytes(tree)))
    for label, size in sizes:
        if size > MAX_BYTES:
            problems.append(f"{label}: {size / 1024 / 1024:.1f} MB, over the console's "
                            f"{MAX_BYTES // 1024 // 1024} MB upload limit")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python-version", default=DEFAULT_PYTHON,
                        help="the FunctionGraph runtime's Python (template.yaml's runtime)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        interpreter = find_interpreter(args.python_version)
    except TargetPythonMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    archive = build(args.python_version, args.out, interpreter=interpreter)
    tree = args.out / "package"
    shown = archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive
    print(f"{shown}: {archive.stat().st_size / 1024 / 1024:.1f} MB zipped, "
          f"{tree_bytes(tree) / 1024 / 1024:.1f} MB unpacked, for Python {args.python_version} "
          f"(bytecode {cache_tag(interpreter)} by {interpreter})")
    problems = differences(tree, archive) + size_problems(tree, archive)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
