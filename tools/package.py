"""``make package``: the FunctionGraph deploy zip, self-contained, runtime dependencies only.

Layout (reference §1.7): the zip's root holds ``index.py`` (re-exporting
``handler.index.handler``, so the handler string is the documented ``index.handler``),
the ``handler/`` package, and the wheels of requirements.txt for the target Python,
fetched for manylinux x86_64 so the zip does not lean on the runtime's preinstalled
``requests`` or ``obs``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIP_NAME = "obs-mpu-janitor.zip"
DEFAULT_PYTHON = "3.10"  # template.yaml's runtime: Python3.10
MAX_BYTES = 40 * 1024 * 1024  # the console's upload limit (reference §1.5)
SHIM = '''"""FunctionGraph entry: handler string ``index.handler``."""

from handler.index import handler

__all__ = ["handler"]
'''


def build(python_version: str, out: Path, *, platform: str = "manylinux2014_x86_64") -> Path:
    staging = out / "package"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(staging), "--platform", platform, "--python-version", python_version,
         "--implementation", "cp", "--only-binary=:all:", "-r", str(ROOT / "requirements.txt"),
         "-c", str(ROOT / "constraints.txt")],
        check=True,
    )
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: useless in a function
    # Third-party test suites ride along in some wheels; a function never runs them.
    for path in [*staging.rglob("tests"), *staging.rglob("test_*.py")]:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    shutil.copytree(ROOT / "handler", staging / "handler",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (staging / "index.py").write_text(SHIM, encoding="utf-8")
    if (staging / "obs").exists():
        raise SystemExit("refusing to package: a top-level 'obs' would shadow the runtime's SDK")
    archive = out / ZIP_NAME
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(staging.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, path.relative_to(staging).as_posix())
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python-version", default=DEFAULT_PYTHON,
                        help="the FunctionGraph runtime's Python (template.yaml: Python3.10)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    archive = build(args.python_version, args.out)
    size = archive.stat().st_size
    print(f"{archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive}: "
          f"{size / 1024 / 1024:.1f} MB for Python {args.python_version}")
    if size > MAX_BYTES:
        print(f"too large: over the console's {MAX_BYTES // 1024 // 1024} MB upload limit")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
