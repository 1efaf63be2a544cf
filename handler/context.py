"""The FunctionGraph context as far as we use it, and the invocation's time budget.

FunctionGraph passes a camelCase, method-based context (reference §1.2); this module is
the only place that knows its method names, and it copes with any of them missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol


class FunctionContext(Protocol):
    """The methods of FunctionGraph's context that the janitor calls (reference §1.2).

    Fan-out also asks for ``getToken``, ``getFunctionName``, ``getPackage``, ``getVersion``
    and ``getProjectID`` when present. Every call goes through ``call``, so a context that
    lacks a method (a test's, a local run's) degrades to "not available", never a crash.
    """

    def getRemainingTimeInMilliSeconds(self) -> int: ...  # noqa: N802
    def getUserData(self, key: str) -> str | None: ...  # noqa: N802
    def getSecurityAccessKey(self) -> str: ...  # noqa: N802
    def getSecuritySecretKey(self) -> str: ...  # noqa: N802
    def getSecurityToken(self) -> str: ...  # noqa: N802
    def getRequestID(self) -> str: ...  # noqa: N802
    def getLogger(self) -> Any: ...  # noqa: N802


def call(context: Any, method: str, *args: Any) -> Any:
    """``context.method(*args)``, or None when the context lacks it or it fails."""
    func = getattr(context, method, None)
    if not callable(func):
        return None
    try:
        return func(*args)
    except Exception:  # a runtime quirk must not cost the invocation
        return None


@dataclass(frozen=True, slots=True)
class Budget:
    """The invocation's time budget, on the monotonic clock.

    ``deadline`` is when work must stop (remaining time minus the safety margin); None
    when the context does not say how much time is left.
    """

    deadline: float | None

    @classmethod
    def from_context(cls, context: Any, margin_ms: int) -> Budget:
        remaining = call(context, "getRemainingTimeInMilliSeconds")
        if not isinstance(remaining, (int, float)) or isinstance(remaining, bool):
            return cls(None)
        return cls(time.monotonic() + (remaining - margin_ms) / 1000.0)

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0
