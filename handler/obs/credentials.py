"""Access keys for signing, held so that the secret parts never print."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, optionally temporary (with an STS security token).

    The secret key and the token are excluded from ``repr`` so that a credentials object
    that ends up in a log line, a traceback or an assertion message leaks nothing.
    Surrounding whitespace is stripped, as the official SDK strips it (docs/obs.md §9).
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls, access_key_id: str, secret_access_key: str, security_token: str | None = None
    ) -> Credentials:
        token = security_token.strip() if security_token else None
        return cls(access_key_id.strip(), secret_access_key.strip(), token or None)
