"""One JSON line per decision, through the context's logger when it has one.

Only the fields passed in are written: never headers, never credentials.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from handler.context import call

_LOGGER = logging.getLogger("obs_mpu_janitor")


def _stdlib_logger() -> logging.Logger:
    # FunctionGraph collects stdout; without a handler, INFO lines would be dropped.
    if not _LOGGER.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        _LOGGER.addHandler(handler)
    if _LOGGER.level == logging.NOTSET:
        _LOGGER.setLevel(logging.INFO)
    return _LOGGER


class DecisionLog:
    """Writes decisions as JSON lines; the context's logger wins over stdlib logging."""

    def __init__(self, context: Any) -> None:
        runtime_logger = call(context, "getLogger")
        self._runtime_info = getattr(runtime_logger, "info", None)
        self._request_id = call(context, "getRequestID")

    def decision(self, action: str, **fields: Any) -> None:
        record = {"action": action, **fields}
        if self._request_id:
            record["invocation"] = self._request_id
        line = json.dumps(record, ensure_ascii=False, default=str)
        if callable(self._runtime_info):
            self._runtime_info(line)
        else:
            _stdlib_logger().info(line)
