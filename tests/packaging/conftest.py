"""One deploy zip per test session, built for the target runtime's Python by the
target's own interpreter (skipped, saying how to install it, when that is missing)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tools.package import DEFAULT_PYTHON, TargetPythonMissing, build, find_interpreter

if TYPE_CHECKING:
    from pathlib import Path

# The runtime the packaging tests hold the zip against; PACKAGE_PYTHON=3.10 tries another.
TARGET_PYTHON = os.environ.get("PACKAGE_PYTHON", DEFAULT_PYTHON)


@pytest.fixture(scope="session")
def target_interpreter() -> Path:
    try:
        return find_interpreter(TARGET_PYTHON)
    except TargetPythonMissing as exc:
        pytest.skip(f"target runtime's interpreter missing: {exc}")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, target_interpreter: Path) -> Path:
    """dist/ of a fresh ``make package``: the zip and package/ beside it."""
    out = tmp_path_factory.mktemp("dist")
    build(TARGET_PYTHON, out, interpreter=target_interpreter)
    return out
