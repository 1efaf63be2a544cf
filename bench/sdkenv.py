"""The SDK baseline's own environment, as a user would have it.

The dev environment holds moto, and with it ``cryptography`` and ``cffi``; the SDK finds
them and runs slower than it does where ``pip install esdk-obs-python`` alone was run
(it then loads pycryptodome without cffi). So the SDK's workloads run in a venv of their
own, made by the benchmark from the same interpreter, holding the SDK at the version
requirements-dev.txt pins, its own dependencies and nothing else. pip compiles bytecode
as it installs, as it would for a user.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Inside .venv, so that `make clean` removes it and git ignores it.
SDK_VENV = ROOT / ".venv" / "sdk-baseline"


def pinned_sdk() -> str:
    """``esdk-obs-python==X`` as requirements-dev.txt pins it."""
    text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    match = re.search(r"^esdk-obs-python==\S+", text, re.MULTILINE)
    if match is None:
        raise RuntimeError("requirements-dev.txt pins no esdk-obs-python")
    return match.group(0)


def sdk_python() -> Path:
    """The baseline venv's interpreter, created (once per pin) if needed."""
    requirement = pinned_sdk()
    python = SDK_VENV / "bin" / "python"
    stamp = SDK_VENV / ".installed"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == requirement and python.exists():
        return python
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # sys.executable may itself be a venv's: venv builds on its base interpreter.
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(SDK_VENV)], check=True, env=env)
    # The constraints pin requests/urllib3 to the versions our client runs on, so the
    # comparison is between the two clients' own code.
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    requirement, "-c", str(ROOT / "constraints.txt")], check=True, env=env)
    stamp.write_text(requirement, encoding="utf-8")
    return python


def installed(python: Path) -> list[str]:
    """``name==version`` of everything in that environment (pip itself aside)."""
    done = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze",
                           "--disable-pip-version-check"], capture_output=True, text=True,
                          check=True)
    return [line for line in done.stdout.split() if not line.startswith(("pip==", "setuptools=="))]
