"""Login with Amazon (LWA) for the library's clients: credentials, endpoint, token cache and TLS.

The library caches LWA access tokens module-wide, keyed by a hash of the refresh token; this module
makes that cache large and thread-safe, points the token client at SP_API_LWA_ENDPOINT (the sandbox's
in dev mode and tests), shares one TLS context, and says what an LWA refusal means for the account.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
from cachetools import TTLCache
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as lwa_module
from sp_api.auth.exceptions import AuthorizationError

from services.platform.errors import AccountAuthError, TransientSpApiError
from services.platform.settings import Settings

#: Credentials of the local sandbox's LWA application (README, "The SP-API sandbox").
SANDBOX_LWA_APP_ID = "sandbox-app"
SANDBOX_LWA_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 (the public sandbox secret, not a credential)


class _LockedTTLCache(TTLCache):
    """A TTLCache that worker threads may share (cachetools' caches are not thread-safe)."""

    def __init__(self, maxsize: int, ttl: float):
        super().__init__(maxsize=maxsize, ttl=ttl)
        self._lock = threading.RLock()

    def __getitem__(self, key: Any) -> Any:
        with self._lock:
            return super().__getitem__(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)

    def pop(self, key: Any, *default: Any) -> Any:
        with self._lock:
            return super().pop(key, *default)

    def clear(self) -> None:
        with self._lock:
            super().clear()


#: The library caches LWA access tokens module-wide (keyed by a hash of the refresh token) in a
#: TTLCache of 10 entries by default; one worker serves far more refresh tokens than that, and an
#: evicted token costs an extra LWA round trip. The access token lives 3600 s; we keep it 3000 s.
lwa_module.cache = _LockedTTLCache(maxsize=100_000, ttl=3000)

_tls_lock = threading.Lock()
_tls_context: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """The process's one TLS context for SP-API and LWA, with httpx's default verification.

    Each library client builds two httpx clients (its API and its LWA token client), and each httpx
    client built with ``verify=True`` loads the CA bundle again: about 45 ms of CPU apiece, so ~0.25 s
    of a worker's CPU for every account synced, more than the rest of the job. A context is safe to
    share between threads and connections, so it is built once.
    """
    global _tls_context
    with _tls_lock:
        if _tls_context is None:
            _tls_context = httpx.create_ssl_context()
        return _tls_context


def credentials(settings: Settings, refresh_token: str) -> dict[str, str]:
    """The library's ``credentials`` for one seller: our LWA application (the sandbox's in dev mode)."""
    if settings.uses_sandbox:
        app_id, secret = SANDBOX_LWA_APP_ID, SANDBOX_LWA_CLIENT_SECRET
    else:
        app_id, secret = settings.sp_api_lwa_app_id, settings.sp_api_lwa_client_secret
    return {"refresh_token": refresh_token, "lwa_app_id": app_id, "lwa_client_secret": secret}


def forget_access_token(refresh_token: str) -> None:
    """Drop the cached LWA access token of ``refresh_token`` (after a 403, the token may be revoked)."""
    from sp_api.auth._core import build_cache_key

    lwa_module.cache.pop(build_cache_key(refresh_token), None)


def token_client_class(lwa_endpoint: str | None) -> type[AccessTokenClient]:
    """An AccessTokenClient pointed at ``lwa_endpoint`` (the library builds scheme + host + path)."""
    if not lwa_endpoint:
        return AccessTokenClient
    parts = urlsplit(lwa_endpoint)
    attrs = {"scheme": f"{parts.scheme}://", "host": parts.netloc}
    if parts.path and parts.path != "/":
        attrs["path"] = parts.path
    return type("LwaEndpointClient", (AccessTokenClient,), attrs)


def lwa_failure(exc: AuthorizationError) -> Exception:
    """What an LWA refusal means: a refused grant or client is the account's, the rest is transient."""
    code = exc.error_code or "error"
    if code in ("invalid_grant", "invalid_client", "unauthorized_client"):
        return AccountAuthError(f"LWA {code}: {exc.message or 'authorisation refused'}")
    return TransientSpApiError(f"LWA HTTP {exc.status_code} {code}: {exc.message}")
