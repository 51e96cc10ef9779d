"""python-amazon-sp-api clients for one seller account, and the call-level retry policy.

Every SP-API call goes through :meth:`AccountClients.call`: tenacity retries the transient failures
(429, 500, 503, 504, connection errors, timeouts, a body that is not the JSON Amazon documents) with
``wait_random_exponential`` under a cap, stops on attempts and on a deadline, and re-raises.
Permanent failures (LWA ``invalid_grant``/``invalid_client``, 403) become :class:`AccountAuthError`
at once; anything still failing after the retries becomes :class:`TransientSpApiError`, which fails
the account for this attempt and lets Dramatiq's Retries middleware retry the job later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from cachetools import TTLCache
from sp_api.api import Inventories, Orders, Sales
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as lwa_module
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Marketplaces
from sp_api.base.exceptions import (
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiGatewayTimeoutException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from services.errors import AccountAuthError, PermanentSpApiError, TransientSpApiError
from services.secrets import decrypt_token
from services.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: Credentials of the local sandbox's LWA application (DESIGN.md, "The SP-API sandbox").
SANDBOX_LWA_APP_ID = "sandbox-app"
SANDBOX_LWA_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 (the public sandbox secret, not a credential)

#: The library caches LWA access tokens module-wide in a TTLCache of 10 entries by default; one worker
#: serves far more refresh tokens than that, and an evicted token costs an extra LWA round trip.
lwa_module.cache = TTLCache(maxsize=100_000, ttl=3000)
_lwa_cache_lock = threading.Lock()

API_CLASSES = {"orders": Orders, "sales": Sales, "inventories": Inventories}


class MalformedResponse(PermanentSpApiError):
    """Amazon answered without the JSON fields the operation documents (e.g. a non-JSON body)."""


#: Failures retried inside the call (tenacity), then by the job (Dramatiq).
TRANSIENT = (
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
    SellingApiGatewayTimeoutException,
    httpx.TransportError,
    MalformedResponse,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Call-level retries: up to ``attempts`` tries within ``deadline_seconds``."""

    attempts: int = 6
    deadline_seconds: float = 120.0
    wait_multiplier: float = 0.5
    wait_max_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.sp_api_retry_attempts,
            deadline_seconds=settings.sp_api_retry_deadline_seconds,
            wait_multiplier=settings.sp_api_retry_wait_seconds,
            wait_max_seconds=settings.sp_api_retry_max_wait_seconds,
        )


def forget_access_token(refresh_token: str) -> None:
    """Drop the cached LWA access token of ``refresh_token`` (after a 403, the token may be revoked)."""
    from sp_api.auth._core import build_cache_key

    with _lwa_cache_lock:
        lwa_module.cache.pop(build_cache_key(refresh_token), None)


def _auth_class(lwa_endpoint: str | None) -> type[AccessTokenClient]:
    """An AccessTokenClient pointed at ``lwa_endpoint`` (the library builds scheme + host + path)."""
    if not lwa_endpoint:
        return AccessTokenClient
    parts = urlsplit(lwa_endpoint)
    attrs = {"scheme": f"{parts.scheme}://", "host": parts.netloc}
    if parts.path and parts.path != "/":
        attrs["path"] = parts.path
    return type("LwaEndpointClient", (AccessTokenClient,), attrs)


@dataclass
class AccountClients:
    """The SP-API clients of one seller account (one marketplace), closed together."""

    refresh_token: str
    marketplace: Marketplaces
    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    #: Operation name → number of HTTP calls made (including retried ones), for logs and tests.
    calls: dict[str, int] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, api: str) -> Any:
        if api not in self._clients:
            settings = self.settings
            if settings.uses_sandbox:
                app_id, secret = SANDBOX_LWA_APP_ID, SANDBOX_LWA_CLIENT_SECRET
            else:
                app_id, secret = settings.sp_api_lwa_app_id, settings.sp_api_lwa_client_secret
            credentials = {
                "refresh_token": self.refresh_token,
                "lwa_app_id": app_id,
                "lwa_client_secret": secret,
            }
            instance = API_CLASSES[api](
                marketplace=self.marketplace,
                credentials=credentials,
                timeout=settings.sp_api_timeout_seconds,
                auth_token_client_class=_auth_class(settings.sp_api_lwa_endpoint),
            )
            if settings.sp_api_endpoint:
                instance.endpoint = settings.sp_api_endpoint.rstrip("/")
            self._clients[api] = instance
        return self._clients[api]

    def call(
        self, operation: str, api: str, method: str, *, expect: str | type | None = None, **params: Any
    ) -> ApiResponse:
        """Call ``client(api).method(**params)`` under the retry policy.

        ``expect`` names a key the payload must carry, or is ``list`` for a list payload; a payload
        without it raises :class:`MalformedResponse` (the library returns ``{}`` for a non-JSON body).
        """

        def attempt() -> ApiResponse:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            response = getattr(self.client(api), method)(**params)
            payload = response.payload
            if expect is list:
                valid = isinstance(payload, list)
            else:
                valid = isinstance(payload, dict) and (expect is None or expect in payload)
            if not valid:
                raise MalformedResponse(f"{operation} answered a body that is not the documented JSON")
            return response

        retrying = Retrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=wait_random_exponential(
                multiplier=self.policy.wait_multiplier, max=self.policy.wait_max_seconds
            ),
            stop=stop_after_attempt(self.policy.attempts) | stop_after_delay(self.policy.deadline_seconds),
            reraise=True,
            sleep=self.sleep,
            before_sleep=_log_retry(operation),
        )
        try:
            return retrying(attempt)
        except AuthorizationError as exc:
            raise _lwa_error(exc) from None
        except SellingApiForbiddenException as exc:
            forget_access_token(self.refresh_token)
            raise AccountAuthError(
                f"{operation}: 403 {exc.amzn_code or 'Unauthorized'}: {exc.message}"
            ) from None
        except MalformedResponse:
            raise
        except SellingApiException as exc:
            status = getattr(exc, "code", "?")
            error = TransientSpApiError if isinstance(exc, TRANSIENT) else PermanentSpApiError
            raise error(f"{operation}: HTTP {status} {exc.amzn_code}: {exc.message}") from None
        except httpx.TransportError as exc:
            raise TransientSpApiError(
                f"{operation}: {type(exc).__name__}: {exc or 'connection failed'}"
            ) from None
        except ValueError as exc:  # the LWA endpoint answered an error that is not JSON
            raise TransientSpApiError(f"{operation}: LWA answered a body that is not JSON ({exc})") from None

    def close(self) -> None:
        for instance in self._clients.values():
            instance.close()
        self._clients.clear()

    def __enter__(self) -> AccountClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lwa_error(exc: AuthorizationError) -> Exception:
    code = exc.error_code or "error"
    if code in ("invalid_grant", "invalid_client", "unauthorized_client"):
        return AccountAuthError(f"LWA {code}: {exc.message or 'authorisation refused'}")
    return TransientSpApiError(f"LWA HTTP {exc.status_code} {code}: {exc.message}")


def _log_retry(operation: str) -> Callable[[RetryCallState], None]:
    def log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.info(
            "SP-API %s failed (%s); call attempt %d, retrying in %.2f s.",
            operation,
            type(exc).__name__,
            state.attempt_number,
            state.next_action.sleep if state.next_action else 0.0,
        )

    return log


def marketplace_for(country: str) -> Marketplaces:
    """The library's marketplace for a country code (``GB`` and ``UK`` both name the UK)."""
    name = "UK" if country == "GB" else country
    try:
        return Marketplaces[name]
    except KeyError:
        raise PermanentSpApiError(f"unknown marketplace country {country!r}") from None


def account_clients(account: Any, settings: Settings | None = None, **kwargs: Any) -> AccountClients:
    """Clients for a SellerAccount document; decrypts its refresh token just for these calls."""
    settings = settings or get_settings()
    kwargs.setdefault("policy", RetryPolicy.from_settings(settings))
    return AccountClients(
        refresh_token=decrypt_token(account.refresh_token, settings),
        marketplace=marketplace_for(account.country),
        settings=settings,
        **kwargs,
    )
