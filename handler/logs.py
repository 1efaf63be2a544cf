"""One JSON line per decision, through the context's logger when it has one.

Only the fields passed in are written (never headers, never credentials), and each line
is scrubbed of the invocation's secrets before it is written, whatever a server echoed
into a field. Logging never fails an invocation: a logger that raises (a full disk, a
closed pipe) is replaced by stderr, and if that fails too the line is dropped.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from handler.runtime import call, text_of

if TYPE_CHECKING:
    from collections.abc import Callable


def _no_scrub(text: str) -> str:
    return text


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
        info = _method(context)
        if info is not None:
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
