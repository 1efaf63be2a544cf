"""Everything one invocation shares: settings, time budget, decision log and the client."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handler.clients import client_for
from handler.context import Budget
from handler.identity import resolve_credentials
from handler.logs import DecisionLog

if TYPE_CHECKING:
    from handler.obs.client import ObsClient
    from handler.settings import Settings


@dataclass
class Invocation:
    context: Any
    settings: Settings
    budget: Budget
    log: DecisionLog
    pool_size: int = 16
    _client: ObsClient | None = field(default=None, init=False, repr=False)
    _resolved: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def start(cls, context: Any, settings: Settings, *, pool_size: int | None = None) -> Invocation:
        return cls(
            context=context,
            settings=settings,
            budget=Budget.from_context(context, settings.safety_margin_ms),
            log=DecisionLog(context),
            pool_size=pool_size or settings.batch_concurrency,
        )

    def client(self) -> ObsClient | None:
        """The OBS client, made on first need; None when there are no credentials."""
        with self._lock:
            if not self._resolved:
                credentials = resolve_credentials(self.context)
                if credentials is not None:
                    self._client = client_for(self.settings, credentials, pool_size=self.pool_size)
                self._resolved = True
            return self._client
