"""One invocation's plumbing: the FunctionGraph context, time budget, credentials, client.

FunctionGraph passes a camelCase, method-based context (docs/functiongraph.md, "The
context"). This module is the only place that calls its methods, and it copes with any of
them missing or raising: a runtime quirk degrades to "not available", never a crash.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from handler.obs.credentials import Credentials
from handler.settings import lookup

if TYPE_CHECKING:
    from handler.logs import DecisionLog
    from handler.obs.client import ObsClient
    from handler.settings import Settings

# The longest invocation FunctionGraph runs is hours, not years: a remaining time beyond
# this is nonsense from a stand-in and is treated as "unknown".
_MAX_REMAINING_MS = 7 * 24 * 3600 * 1000
# One pool large enough for any concurrency the settings allow (at most 64), so batch
# and sweep invocations of a warm instance share one client instead of rebuilding it.
POOL_SIZE = 64
# The janitor's own names first, then those of the official SDK's samples.
_KEY_NAMES = (
    ("OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY", "OBS_SECURITY_TOKEN"),
    ("AccessKeyID", "SecretAccessKey", "SecurityToken"),
)


class FunctionContext(Protocol):
    """The methods of FunctionGraph's context that the janitor calls.

    Fan-out also asks for ``getToken``, ``getFunctionName``, ``getPackage``,
    ``getVersion`` and ``getProjectID`` when present.
    """

    def getRemainingTimeInMilliSeconds(self) -> int: ...  # noqa: N802
    def getUserData(self, key: str) -> str | None: ...  # noqa: N802
    def getSecurityAccessKey(self) -> str: ...  # noqa: N802
    def getSecuritySecretKey(self) -> str: ...  # noqa: N802
    def getSecurityToken(self) -> str: ...  # noqa: N802
    def getRequestID(self) -> str: ...  # noqa: N802
    def getLogger(self) -> Any: ...  # noqa: N802


def call(context: object, method: str, *args: Any) -> Any:
    """``context.method(*args)``, or None when the context lacks it or it fails."""
    try:
        func = getattr(context, method, None)
        return func(*args) if callable(func) else None
    except Exception:  # any exception a property or method raises: "not available"
        return None


def text_of(context: object, method: str, *args: Any) -> str | None:
    """A context method's value when it is a non-empty string."""
    value = call(context, method, *args)
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, slots=True)
class Budget:
    """The invocation's time budget, on the monotonic clock.

    ``deadline`` is when work must stop (remaining time minus the safety margin); None
    when the context does not say how much time is left.
    """

    deadline: float | None

    @classmethod
    def from_context(cls, context: object, margin_ms: int) -> Budget:
        remaining = call(context, "getRemainingTimeInMilliSeconds")
        if not isinstance(remaining, (int, float)) or isinstance(remaining, bool):
            return cls(None)
        if not 0 <= remaining <= _MAX_REMAINING_MS:  # NaN fails too
            return cls(None if remaining > 0 else time.monotonic())
        return cls(time.monotonic() + (remaining - margin_ms) / 1000.0)

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


def resolve_credentials(context: object, settings_lookup: Any) -> Credentials | None:
    """The agency's temporary keys, else keys from user data or the environment; None when
    there are none (the caller reports it, sending nothing)."""
    access_key = text_of(context, "getSecurityAccessKey")
    secret_key = text_of(context, "getSecuritySecretKey")
    if access_key and secret_key:
        return Credentials.of(access_key, secret_key, text_of(context, "getSecurityToken"))
    for ak_name, sk_name, token_name in _KEY_NAMES:
        access_key, secret_key = settings_lookup(ak_name), settings_lookup(sk_name)
        if access_key and secret_key:
            return Credentials.of(access_key, secret_key, settings_lookup(token_name))
    return None


# -- the one client of this instance, reused across warm invocations --------------------
# FunctionGraph keeps an instance warm between invocations; reusing the client keeps its
# connection pool (the docs' own best practice). A new one is made when the settings or
# the agency's rotating credentials change.

_client_lock = threading.Lock()
_cached_client: tuple[tuple[object, ...], ObsClient] | None = None


def client_for(settings: Settings, credentials: Credentials, iam_token: str | None = None,
               ) -> ObsClient:
    """The cached client if it still fits, else a fresh one (the old one is closed).

    The IAM token is not the client's to use, but its redactor masks it too, in case a
    server ever echoes it.
    """
    global _cached_client
    from handler.obs.client import ObsClient

    key = (settings.endpoint, settings.path_style, settings.signature, settings.timeout_s,
           settings.max_retry_count, credentials, iam_token)
    with _client_lock:
        if _cached_client is not None and _cached_client[0] == key:
            return _cached_client[1]
        if _cached_client is not None:
            _cached_client[1].close()
        client = ObsClient(
            credentials.access_key_id, credentials.secret_access_key, settings.endpoint,
            security_token=credentials.security_token, path_style=settings.path_style,
            signature=settings.signature, timeout=settings.timeout_s,
            max_retry_count=settings.max_retry_count, pool_size=POOL_SIZE,
            extra_secrets=(iam_token,),
        )
        _cached_client = (key, client)
        return client


def cached_client() -> ObsClient | None:
    """The instance's client, if one was made (tests, diagnostics)."""
    with _client_lock:
        return _cached_client[1] if _cached_client is not None else None


def drop_cached_client() -> None:
    """Close and forget the instance's client (tests, and the local CLI between runs)."""
    global _cached_client
    with _client_lock:
        if _cached_client is not None:
            _cached_client[1].close()
        _cached_client = None


@dataclass
class Invocation:
    """Everything one invocation shares: context, settings, budget, log and the client."""

    context: object
    settings: Settings
    budget: Budget
    log: DecisionLog
    _client: ObsClient | None = field(default=None, init=False, repr=False)
    _resolved: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def start(cls, context: object, settings: Settings, log: DecisionLog) -> Invocation:
        return cls(context=context, settings=settings,
                   budget=Budget.from_context(context, settings.safety_margin_ms), log=log)

    def user_data(self, name: str) -> str | None:
        return text_of(self.context, "getUserData", name)

    def lookup(self, name: str) -> str | None:
        return lookup(self.user_data, name)

    def client(self) -> ObsClient | None:
        """The OBS client, made on first need; None when there are no credentials."""
        with self._lock:
            if not self._resolved:
                credentials = resolve_credentials(self.context, self.lookup)
                if credentials is not None:
                    self._client = client_for(self.settings, credentials,
                                              text_of(self.context, "getToken"))
                self._resolved = True
            return self._client


def secrets_of(context: object) -> list[str]:
    """Every credential an invocation could hold, for scrubbing whatever leaves it."""
    def user_data(name: str) -> str | None:
        return text_of(context, "getUserData", name)

    found = [text_of(context, name) for name in
             ("getSecuritySecretKey", "getSecurityToken", "getToken", "getSecretKey")]
    found += [lookup(user_data, name) for name in
              ("OBS_SECRET_ACCESS_KEY", "OBS_SECURITY_TOKEN", "SecretAccessKey", "SecurityToken")]
    return [s for s in found if s]
