"""One JSON line per decision: bare JSON on stdout on FunctionGraph, else the context's logger.

On FunctionGraph, ``context.getLogger().info`` prefixes each line with its time, request
id and level, so LTS cannot read it as JSON; a line printed to stdout reaches the log
stream as it is (docs/functiongraph.md, "Logs"). So there decision lines are printed, and
LTS's JSON structuring and ``json_extract_scalar(content, '$.field')`` work on them
(README, "Logs"). Elsewhere (local runs, tests) they go through the context's logger.

Only the fields passed in are written (never headers, never credentials), and each line
is scrubbed of the invocation's secrets before it is written, whatever a server echoed
into a field. Logging never fails an invocation: a sink that raises (a full disk, a
closed pipe) is replaced by stderr, and if that fails too the line is dropped.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from handler.runtime import call, text_of

if TYPE_CHECKING:
    from collections.abc import Callable


def _no_scrub(text: str) -> str:
    return text


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _stdout(line: str) -> None:
    print(line, flush=True)


def on_functiongraph() -> bool:
    """FunctionGraph presets RUNTIME_FUNC_NAME in every function's environment."""
    return bool(os.environ.get("RUNTIME_FUNC_NAME"))


def _method(context: object) -> Callable[[str], None] | None:
    """The context logger's ``info``, if it has a callable one (a property may raise)."""
    logger = call(context, "getLogger")
    try:
        info = getattr(logger, "info", None)
    except Exception:  # a property that raises: no runtime logger
        return None
    return info if callable(info) else None


class DecisionLog:
    """Writes decisions as JSON lines; the context's logger wins over stderr."""

    def __init__(self, context: object, scrub: Callable[[str], str] = _no_scrub) -> None:
        self._write: Callable[[str], None] = _stderr
        info = None if on_functiongraph() else _method(context)
        if on_functiongraph():
            self._write = _stdout
        elif info is not None:
            self._write = info
        self._request_id = text_of(context, "getRequestID")
        self.scrub = scrub

    def decision(self, action: str, **fields: Any) -> None:
        record = {"action": action, **fields}
        if self._request_id:
            record["invocation"] = self._request_id
        try:
            line = self.scrub(json.dumps(record, ensure_ascii=False, default=str))
        except (TypeError, ValueError, RecursionError):
            line = json.dumps({"action": action, "error": "unloggable fields"})
        for write in (self._write, _stderr):
            try:
                write(line)
                return
            except Exception:
                self._write = _stderr
                continue
