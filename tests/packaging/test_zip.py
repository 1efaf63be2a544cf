"""The deploy zip: runtime code only, bytecode of the target interpreter for every
module and no other, ``dist/package/`` identical to it, both under the upload limit."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tools.package import (
    DEV_ONLY,
    MAX_BYTES,
    ZIP_NAME,
    cache_tag,
    differences,
    missing_bytecode,
    size_problems,
    tree_bytes,
)

DEV_TOP_LEVEL = ("pytest", "responses", "hypothesis", "moto", "boto3", "botocore", "obs", "tests",
                 "tools", "bench", "yaml", "_pytest", "mypy", "ruff")


def names(built: Path) -> list[str]:
    with zipfile.ZipFile(built / ZIP_NAME) as zipped:
        return zipped.namelist()


def test_zip_holds_runtime_code_only(built: Path) -> None:
    listed = names(built)
    top = {name.split("/")[0].split("-")[0].removesuffix(".py") for name in listed}
    assert {"index", "handler", "requests", "pydantic", "pydantic_core", "urllib3"} <= top
    assert not top & set(DEV_TOP_LEVEL), top & set(DEV_TOP_LEVEL)
    assert not [n for n in listed if n.rsplit("/", 1)[-1].startswith("test_")]
    assert not set(DEV_ONLY) & set(listed)


def test_every_module_has_the_targets_bytecode_and_no_other(built: Path, target_interpreter: Path) -> None:
    tag = cache_tag(target_interpreter)
    listed = names(built)
    modules = [n for n in listed if n.endswith(".py")]
    pycs = [n for n in listed if n.endswith(".pyc")]
    assert len(modules) > 100
    assert {f"{n.rsplit('/', 1)[0]}/__pycache__/{n.rsplit('/', 1)[1][:-3]}.{tag}.pyc"
            if "/" in n else f"__pycache__/{n[:-3]}.{tag}.pyc" for n in modules} == set(pycs)
    assert missing_bytecode(built / "package", tag) == []


def test_bytecode_is_unchecked_hash(built: Path) -> None:
    # PEP 552 flags word: bit 0 = hash-based, bit 1 = check_source. Unchecked: 0b01.
    with zipfile.ZipFile(built / ZIP_NAME) as zipped:
        for name in (n for n in zipped.namelist() if n.endswith(".pyc")):
            flags = int.from_bytes(zipped.read(name)[4:8], "little")
            assert flags == 0b01, name


def test_dist_package_is_the_zip(built: Path) -> None:
    assert differences(built / "package", built / ZIP_NAME) == []


def test_differences_notice_stale_bytecode(built: Path, tmp_path: Path) -> None:
    # What `s deploy` would upload besides the zip's content is reported.
    stray = built / "package" / "handler" / "__pycache__" / "index.cpython-311.pyc"
    stray.write_bytes(b"stale")
    try:
        assert differences(built / "package", built / ZIP_NAME) == [
            "only in package/: handler/__pycache__/index.cpython-311.pyc"]
    finally:
        stray.unlink()


def test_both_forms_are_under_the_upload_limit(built: Path) -> None:
    assert (built / ZIP_NAME).stat().st_size < MAX_BYTES
    assert tree_bytes(built / "package") < MAX_BYTES
    assert size_problems(built / "package", built / ZIP_NAME) == []


def test_missing_target_python_is_reported_clearly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.package", "--python-version", "3.99", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], check=False,
    )
    assert done.returncode == 2
    assert "CPython 3.99" in done.stderr and "pyenv install 3.99" in done.stderr
    assert "PYTHON_TARGET" in done.stderr
    assert not (tmp_path / ZIP_NAME).exists()
