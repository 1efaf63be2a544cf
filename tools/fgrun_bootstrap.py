"""The child side of ``tools.fgrun``: runs inside the target interpreter, stdlib only.

It plays the FunctionGraph Python runtime for one invocation: the code directory (cwd)
must not be writable, the handler is loaded by its handler string, and the context has
exactly the methods of the official table (docs/functiongraph.md, "Context"). The result
goes to a file, so the function's stdout and stderr stay the log stream they are on
FunctionGraph.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

# The runtime splits a logger line longer than this into several lines.
MAX_SINGLE_LOG_SIZE = 90 * 1024


class Logger:
    """``context.getLogger()``: ``<time> <requestID> <LEVEL> <message>`` lines on stdout."""

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id

    def _send(self, level: str, *args: Any) -> None:
        if args and isinstance(args[0], str) and len(args) > 1:
            try:
                message = args[0] % args[1:]
            except (TypeError, ValueError):
                message = " ".join(str(a) for a in args)
        else:
            message = " ".join(str(a) for a in args)
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        chunks = [message[i:i + MAX_SINGLE_LOG_SIZE]
                  for i in range(0, len(message), MAX_SINGLE_LOG_SIZE)] or [""]
        for chunk in chunks:
            print(f"{stamp} {self._request_id} {level} {chunk}", flush=True)

    def info(self, *args: Any) -> None:
        self._send("INFO", *args)

    def warn(self, *args: Any) -> None:
        self._send("WARN", *args)

    def error(self, *args: Any) -> None:
        self._send("ERROR", *args)

    def debug(self, *args: Any) -> None:
        self._send("DEBUG", *args)


class Context:
    """The methods of the official context table, no more (a method the table lacks, such
    as getProjectID, is absent here too, so code relying on it fails locally first)."""

    def __init__(self, env: dict[str, str], agency: dict[str, str]) -> None:
        self._env = env
        self._agency = agency
        self._user_data = json.loads(env.get("RUNTIME_USERDATA") or "{}")
        self._timeout_s = int(env.get("RUNTIME_TIMEOUT") or "3")
        self._started = time.time()
        self._request_id = str(uuid.uuid4())
        self._logger = Logger(self._request_id)

    def getRequestID(self) -> str:  # noqa: N802
        return self._request_id

    def getRemainingTimeInMilliSeconds(self) -> int:  # noqa: N802
        return int((self._started + self._timeout_s - time.time()) * 1000)

    def getAccessKey(self) -> str:  # noqa: N802
        return ""  # "no longer maintained": it yields no key any more

    def getSecretKey(self) -> str:  # noqa: N802
        return ""

    def getSecurityAccessKey(self) -> str:  # noqa: N802
        return self._agency.get("access_key", "")  # "" without an agency

    def getSecuritySecretKey(self) -> str:  # noqa: N802
        return self._agency.get("secret_key", "")

    def getSecurityToken(self) -> str:  # noqa: N802
        return self._agency.get("token", "")

    def getToken(self) -> str:  # noqa: N802
        return self._agency.get("auth_token", "")

    def getUserData(self, key: str) -> Any:  # noqa: N802
        return self._user_data.get(key)

    def getFunctionName(self) -> str:  # noqa: N802
        return self._env.get("RUNTIME_FUNC_NAME", "")

    def getRunningTimeInSeconds(self) -> int:  # noqa: N802
        return self._timeout_s

    def getVersion(self) -> str:  # noqa: N802
        return self._env.get("RUNTIME_FUNC_VERSION", "latest")

    def getMemorySize(self) -> int:  # noqa: N802
        return int(self._env.get("RUNTIME_MEMORY") or "0")

    def getCPUNumber(self) -> int:  # noqa: N802
        return int(self._env.get("RUNTIME_CPU") or "0")

    def getPackage(self) -> str:  # noqa: N802
        return self._env.get("RUNTIME_PACKAGE", "default")

    def getLogger(self) -> Logger:  # noqa: N802
        return self._logger

    def getAlias(self) -> str:  # noqa: N802
        return ""


def _refuse_writable(code_dir: str) -> None:
    probe = os.path.join(code_dir, ".fgrun-write-probe")
    try:
        with open(probe, "x"):
            pass
    except OSError:
        return
    os.unlink(probe)
    sys.exit(f"fgrun: the code directory {code_dir} is writable; FunctionGraph's is not")


def _trace_source_compiles(code_dir: str, compiled: list[str]) -> None:
    """Record each module of the code directory compiled from source (no usable bytecode).
    SourceLoader.source_to_code runs only when no valid cached bytecode was found."""
    original = importlib.machinery.SourceFileLoader.source_to_code

    def traced(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str) and path.startswith(code_dir + os.sep):
            compiled.append(os.path.relpath(path, code_dir))
        return original(self, data, path, *args, **kwargs)

    importlib.machinery.SourceFileLoader.source_to_code = traced  # type: ignore[method-assign]


def main() -> int:
    runtime_dir = sys.argv[1]
    with open(os.path.join(runtime_dir, "invocation.json"), encoding="utf-8") as handle:
        invocation = json.load(handle)
    code_dir = os.getcwd()
    _refuse_writable(code_dir)
    compiled: list[str] = []
    if invocation.get("trace_compiles"):
        _trace_source_compiles(code_dir, compiled)
    sys.path.insert(0, code_dir)
    module_name, _, attribute = os.environ["RUNTIME_HANDLER"].rpartition(".")
    context = Context(dict(os.environ), invocation.get("agency") or {})
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), attribute)
    result = handler(invocation["event"], context)
    report = {
        "result": result,
        "source_compiled": compiled,
        "dont_write_bytecode": bool(sys.flags.dont_write_bytecode),
        "code_modules": sorted(
            name for name, module in list(sys.modules.items())
            if (getattr(module, "__file__", None) or "").startswith(code_dir + os.sep)
        ),
    }
    with open(os.path.join(runtime_dir, "result.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
