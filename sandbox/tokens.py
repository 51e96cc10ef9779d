"""Refresh tokens name sellers; access tokens map back to them."""

from __future__ import annotations

import re
import secrets
import threading

REFRESH_TOKEN_PREFIX = "Atzr|sandbox-"  # noqa: S105 - a prefix, not a secret
#: Seller names appear in admin URLs, so keep them URL- and log-friendly.
SELLER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def is_seller_name(name: str) -> bool:
    return bool(SELLER_NAME.fullmatch(name))


def seller_of_refresh_token(refresh_token: str | None) -> str | None:
    """``Atzr|sandbox-acme-us`` -> ``acme-us``; None for any other token (LWA invalid_grant)."""
    if not refresh_token or not refresh_token.startswith(REFRESH_TOKEN_PREFIX):
        return None
    name = refresh_token[len(REFRESH_TOKEN_PREFIX) :]
    return name if is_seller_name(name) else None


class AccessTokens:
    """Issued ``Atza|...`` tokens -> seller. They never expire (until reset): the library caches
    a token for 3200 s of real time whatever the sandbox clock says, and never retries on 403."""

    def __init__(self) -> None:
        self._sellers: dict[str, str] = {}
        self._lock = threading.Lock()

    def issue(self, seller: str) -> str:
        token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._sellers[token] = seller
        return token

    def seller(self, access_token: str | None) -> str | None:
        with self._lock:
            return self._sellers.get(access_token or "")

    def reset(self) -> None:
        with self._lock:
            self._sellers.clear()
