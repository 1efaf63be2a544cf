"""Where the signing keys come from: the function's agency, else configured keys."""

from __future__ import annotations

from typing import Any

from handler.context import call
from handler.obs.credentials import Credentials
from handler.settings import lookup

# The janitor's own names first, then those of the official SDK's samples.
_KEY_NAMES = (
    ("OBS_ACCESS_KEY_ID", "OBS_SECRET_ACCESS_KEY", "OBS_SECURITY_TOKEN"),
    ("AccessKeyID", "SecretAccessKey", "SecurityToken"),
)


def resolve_credentials(context: Any) -> Credentials | None:
    """The agency's temporary keys (reference §1.8), else keys from user data or the
    environment; None when there are none (the caller reports it, sending nothing)."""
    access_key = call(context, "getSecurityAccessKey")
    secret_key = call(context, "getSecuritySecretKey")
    if isinstance(access_key, str) and access_key.strip() and isinstance(secret_key, str):
        token = call(context, "getSecurityToken")
        return Credentials.of(access_key, secret_key, token if isinstance(token, str) else None)
    for ak_name, sk_name, token_name in _KEY_NAMES:
        access_key, secret_key = lookup(context, ak_name), lookup(context, sk_name)
        if access_key and secret_key:
            return Credentials.of(access_key, secret_key, lookup(context, token_name))
    return None
