"""Every sample event, run by the built zip in the faithful local runtime (tools.fgrun):
read-only code directory, target interpreter, handler string, the official context.
The zip answers as the source tree does, and its bytecode is what gets loaded."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tools.fgrun import FunctionRuntime
from tools.package import ZIP_NAME
from tools.standin import FakeObs, serve

if TYPE_CHECKING:
    from collections.abc import Iterator


pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EVENTS = sorted((ROOT / "events").glob("*.json"))
# What the runtime's context logger would print (docs/functiongraph.md, "Logs"): the
# decision lines must NOT look like this, or LTS cannot read them as JSON.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [0-9a-f-]{36} (INFO|WARN|ERROR|DEBUG) ")
ABORT_EVENT = json.loads((ROOT / "events" / "abort.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runtime(built: Path, target_interpreter: Path) -> Iterator[FunctionRuntime]:
    with FunctionRuntime(built / ZIP_NAME, interpreter=target_interpreter, timeout_s=60) as made:
        yield made


@dataclass
class Stand:
    endpoint: str
    state: FakeObs


@pytest.fixture(scope="module")
def obs() -> Iterator[Stand]:
    state = FakeObs()
    with serve(state) as served:
        yield Stand(served.endpoint, state)


def user_data(obs: Stand) -> dict[str, str]:
    return {"OBS_ENDPOINT": obs.endpoint, "OBS_PATH_STYLE": "true", "ALLOWED_BUCKETS": "*",
            "OBS_ACCESS_KEY_ID": "AK", "OBS_SECRET_ACCESS_KEY": "SK", "OBS_MAX_RETRY_COUNT": "0",
            "OBS_TIMEOUT_S": "5", "FUNCTIONGRAPH_ENDPOINT": obs.endpoint,
            "FANOUT_FUNCTION_URN": "urn:fss:cn-north-4:" + "0" * 32 + ":function:default:janitor",
            "FANOUT_REGION": "cn-north-4"}


class SourceContext:
    """The same user data, for the handler imported from the source tree."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data = data

    def getUserData(self, key: str) -> str | None:
        return self.data.get(key)

    def getRemainingTimeInMilliSeconds(self) -> int:
        return 60_000


KEPT = ("status", "statusCode", "errorCode", "outcome", "action", "kind")


def shape(value: Any, key: str = "") -> Any:
    """What must not differ between two runs: keys, statuses, error codes, outcomes
    (not times, dates or request IDs)."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value if key in KEPT else type(value).__name__


def test_code_directory_is_read_only_and_tmp_is_not(runtime: FunctionRuntime) -> None:
    done = runtime.run_python(
        "import os, tempfile\n"
        "for target in ('index.py', 'new.txt', 'handler/__pycache__/x.pyc'):\n"
        "    try:\n"
        "        open(target, 'a').close()\n"
        "    except OSError as exc:\n"
        "        print('refused', target, exc.errno)\n"
        "with tempfile.NamedTemporaryFile() as scratch:\n"
        "    print('tmp', os.path.dirname(scratch.name))\n")
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines() if line.startswith("refused")] == [
        "index.py", "new.txt", "handler/__pycache__/x.pyc"]
    assert f"tmp {runtime.tmp_dir}" in done.stdout


@pytest.mark.parametrize("path", EVENTS, ids=[p.stem for p in EVENTS])
def test_sample_event_answers_as_the_source_does(runtime: FunctionRuntime, obs: Stand,
                                                 path: Path) -> None:
    from handler.index import handler

    event = json.loads(path.read_text(encoding="utf-8"))
    data = user_data(obs)
    done = runtime.invoke(event, data)
    assert isinstance(done.result, dict)
    assert "InternalError" not in json.dumps(done.result), done.stdout + done.stderr
    # The source run sees what the child saw: user data and the RUNTIME_* variables.
    assert shape(done.result) == shape(handler(event, SourceContext(runtime.environment(data))))
    for line in done.stdout.splitlines():
        assert not LOG_LINE.match(line), line  # bare JSON on stdout, as LTS reads it
        record = json.loads(line)
        assert record["action"] and record["invocation"], line


def test_an_abort_goes_through(runtime: FunctionRuntime, obs: Stand) -> None:
    upload = obs.state.add_upload(ABORT_EVENT["bucket"], ABORT_EVENT["objectKey"],
                                  age=timedelta(days=2), upload_id=ABORT_EVENT["uploadId"])
    done = runtime.invoke(ABORT_EVENT, user_data(obs))
    assert done.result["status"] == 204
    assert (upload.key, upload.upload_id) not in obs.state.buckets[ABORT_EVENT["bucket"]]


def test_shipped_bytecode_is_what_loads(runtime: FunctionRuntime, obs: Stand) -> None:
    done = runtime.invoke(ABORT_EVENT, user_data(obs), trace_compiles=True)
    assert done.dont_write_bytecode is False  # PYTHONDONTWRITEBYTECODE did not leak in
    assert {"index", "handler.index", "requests", "pydantic_core"} <= set(done.code_modules)
    assert done.source_compiled == []


def test_an_abort_loads_neither_pydantics_python_layer_nor_charset_detection(
        runtime: FunctionRuntime, obs: Stand) -> None:
    # The cold start's two biggest cuts (bench/RESULTS.md): the abort route validates with
    # pydantic-core alone, and the zip has no charset_normalizer, without a warning.
    done = runtime.invoke(ABORT_EVENT, user_data(obs))
    loaded = {name.split(".")[0] for name in done.code_modules}
    assert "pydantic" not in loaded and "charset_normalizer" not in loaded, loaded
    assert "Warning" not in done.stderr, done.stderr
    assert not (runtime.code_dir / "charset_normalizer").exists()


def test_without_bytecode_the_sources_are_compiled(built: Path, target_interpreter: Path,
                                                   tmp_path: Path, obs: Stand) -> None:
    # The trace can fail: strip the bytecode and it lists what was compiled from source.
    import zipfile

    stripped = tmp_path / "no-bytecode.zip"
    with zipfile.ZipFile(built / ZIP_NAME) as source, zipfile.ZipFile(stripped, "w") as target:
        for info in source.infolist():
            if "__pycache__/" not in info.filename:
                target.writestr(info, source.read(info))
    with FunctionRuntime(stripped, interpreter=target_interpreter, timeout_s=60) as bare:
        done = bare.invoke(ABORT_EVENT, user_data(obs), trace_compiles=True)
    assert {"index.py", "handler/index.py", "requests/__init__.py"} <= set(done.source_compiled)


def _json_extract_scalar(content: str, path: str) -> Any:
    """LTS's json_extract_scalar(content, '$.a.b') on one log line's content: the scalar
    at the path, or None (not JSON, missing, or not a scalar)."""
    try:
        value: Any = json.loads(content)
    except ValueError:
        return None
    for step in path.removeprefix("$.").split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return None if isinstance(value, (dict, list)) else value


def test_the_readme_lts_query_reads_the_lines_as_they_arrive(runtime: FunctionRuntime,
                                                              obs: Stand) -> None:
    """Every JSON path of the README's LTS query extracts a value from the fan-out line a
    chain invocation really prints (stdout of the faithful runtime)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    query = readme[readme.index("```sql"):readme.index("```", readme.index("```sql") + 6)]
    paths = sorted(set(re.findall(r"json_extract_scalar\(content, '(\$\.[a-z_.]+)'\)", query)))
    assert {"$.run_id", "$.summary.aborted"} <= set(paths)
    event = json.loads((ROOT / "events" / "fanout-chain.json").read_text(encoding="utf-8"))
    done = runtime.invoke(event, user_data(obs))
    lines = [line for line in done.stdout.splitlines() if '"fanout_shard"' in line]
    assert lines, done.stdout + done.stderr
    for path in paths:
        assert _json_extract_scalar(lines[0], path) is not None, path
    assert all(_json_extract_scalar(lines[0], p) is None for p in ("$.missing", "$.summary"))
