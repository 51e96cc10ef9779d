"""python-amazon-sp-api clients for one seller account, and the call-level retry policy.

Every SP-API call goes through :meth:`AccountClients.call`: tenacity retries the transient failures
(429, 500, 503, 504, connection errors, timeouts, a body that is not the JSON Amazon documents) with
``wait_random_exponential`` under a cap, stops on attempts and on a deadline, and re-raises.
Permanent failures (LWA ``invalid_grant``/``invalid_client``, 403) become :class:`AccountAuthError`
at once; anything still failing after the retries becomes :class:`TransientSpApiError`, which fails
the account for this attempt and lets Dramatiq's Retries middleware retry the job later.

Quotas (``services.sync.quotas``): before each try the call reserves a token of its (seller, operation)
bucket in Redis, shared by every worker process. A token due within SP_API_QUOTA_MAX_WAIT_SECONDS is
slept for; a later one raises :class:`QuotaWait` (the actor hands the job back to the broker until
then, without spending a retry). A 429 empties the bucket for every process; the next try waits for
the bucket instead of tenacity's timer, and 429s do not count as attempts: they are bounded by
SP_API_THROTTLE_LIMIT in a row, after which the call fails as transient.
"""

from __future__ import annotations

import logging
import math
import ssl
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
    wait_random_exponential,
)

from services.platform.errors import AccountAuthError, PermanentSpApiError, QuotaWait, TransientSpApiError
from services.platform.redis_pool import get_redis
from services.platform.secrets import decrypt_token
from services.platform.settings import Settings
from services.platform.worker_metrics import Batch, WorkerMetrics
from services.sync.quotas import USAGE_PLANS, QuotaBuckets, Reservation, region_of

logger = logging.getLogger(__name__)

#: Credentials of the local sandbox's LWA application (DESIGN.md, "The SP-API sandbox").
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

API_CLASSES = {"orders": Orders, "sales": Sales, "inventories": Inventories}

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


class MalformedResponse(PermanentSpApiError):
    """Amazon answered without the JSON fields the operation documents (e.g. a non-JSON body)."""


class NextTokenRejected(PermanentSpApiError):
    """A 400 for the next token we sent ("invalid or expired"): the listing must start again."""


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

    refresh_token: str = field(repr=False)
    marketplace: Marketplaces
    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    #: Shared quota buckets; None calls Amazon unpaced (unit tests of the retry policy only).
    quotas: QuotaBuckets | None = None
    #: Operation name → number of HTTP calls made (including retried ones), for logs and tests.
    calls: dict[str, int] = field(default_factory=dict)
    #: Seconds slept waiting for quota tokens, for logs and the benchmark.
    quota_wait_seconds: float = 0.0
    #: Where requests and quota waits are counted for /metrics; None counts nothing (unit tests).
    metrics: WorkerMetrics | None = None
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
                verify=tls_context(),
                auth_token_client_class=_auth_class(settings.sp_api_lwa_endpoint),
            )
            if settings.sp_api_endpoint:
                instance.endpoint = settings.sp_api_endpoint.rstrip("/")
            self._clients[api] = instance
        return self._clients[api]

    def call(
        self, operation: str, api: str, method: str, *, expect: str | type | None = None, **params: Any
    ) -> ApiResponse:
        """Call ``client(api).method(**params)`` under the quota and the retry policy.

        ``expect`` names a key the payload must carry, or is ``list`` for a list payload; a payload
        without it raises :class:`MalformedResponse` (the library returns ``{}`` for a non-JSON body).
        Raises :class:`QuotaWait` when the quota token is due later than the settings let a thread sleep.
        Each request's outcome and each quota wait are counted for /metrics, sent together when the
        call ends (one Redis round trip per call, however many tries it took).
        """
        bucket = self._bucket(operation)
        tally = self.metrics.batch() if self.metrics is not None else None
        try:
            return self._call(operation, api, method, bucket, tally, expect, params)
        finally:
            if tally is not None:
                tally.flush()

    def _call(
        self,
        operation: str,
        api: str,
        method: str,
        bucket: str | None,
        tally: Batch | None,
        expect: str | type | None,
        params: dict[str, Any],
    ) -> ApiResponse:
        def attempt() -> ApiResponse:
            reservation = self._wait_for_token(bucket, operation, tally) if bucket is not None else None
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                response = getattr(self.client(api), method)(**params)
            except Exception as exc:
                if tally is not None:
                    tally.count("spapi_requests", {"operation": operation, "outcome": request_outcome(exc)})
                if bucket is not None and isinstance(exc, SellingApiRequestThrottledException):
                    self._throttled(bucket, operation)
                raise
            if tally is not None:
                tally.count("spapi_requests", {"operation": operation, "outcome": "2xx"})
            if bucket is not None:
                self.quotas.served(bucket, response.rate_limit, reservation)  # type: ignore[union-attr]
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
            wait=self._wait_policy(paced=bucket is not None),
            stop=self._stop_policy(paced=bucket is not None),
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
            message = f"{operation}: HTTP {status} {exc.amzn_code}: {exc.message}"
            if status == 400 and _sent_next_token(params) and "token" in str(exc.message).lower():
                raise NextTokenRejected(message) from None
            error = TransientSpApiError if isinstance(exc, TRANSIENT) else PermanentSpApiError
            raise error(message) from None
        except httpx.TransportError as exc:
            raise TransientSpApiError(
                f"{operation}: {type(exc).__name__}: {exc or 'connection failed'}"
            ) from None
        except ValueError as exc:  # the LWA endpoint answered an error that is not JSON
            raise TransientSpApiError(f"{operation}: LWA answered a body that is not JSON ({exc})") from None

    def _bucket(self, operation: str) -> str | None:
        if self.quotas is None or operation not in USAGE_PLANS:
            return None
        return self.quotas.bucket(self.refresh_token, region_of(self.marketplace), operation)

    def _wait_for_token(self, bucket: str, operation: str, tally: Batch | None) -> Reservation:
        max_wait = self.settings.sp_api_quota_max_wait_seconds
        reservation = self.quotas.reserve(bucket, operation, max_wait)  # type: ignore[union-attr]
        if not reservation.taken:
            # Come back a little early and sleep the rest: that hides the broker's redelivery latency.
            delay = max(reservation.wait - max_wait / 2, 0.0)
            if tally is not None:
                tally.observe("spapi_quota_wait_seconds", {"operation": operation, "kind": "handoff"}, delay)
            raise QuotaWait(
                f"{operation}: the next quota token is due in {reservation.wait:.1f} s; "
                "the job frees its worker until then",
                delay_ms=math.ceil(delay * 1000),
            )
        if reservation.wait > 0:
            if tally is not None:
                tally.observe(
                    "spapi_quota_wait_seconds", {"operation": operation, "kind": "sleep"}, reservation.wait
                )
            self.quota_wait_seconds += reservation.wait
            self.sleep(reservation.wait)
        return reservation

    def _throttled(self, bucket: str, operation: str) -> None:
        strikes = self.quotas.throttled(bucket, operation)  # type: ignore[union-attr]
        limit = self.settings.sp_api_throttle_limit
        logger.info("SP-API %s answered 429 (%d in a row for this seller).", operation, strikes)
        if strikes >= limit:
            raise TransientSpApiError(f"{operation}: HTTP 429 QuotaExceeded {strikes} times in a row")

    def _wait_policy(self, *, paced: bool) -> Callable[[RetryCallState], float]:
        exponential = wait_random_exponential(
            multiplier=self.policy.wait_multiplier, max=self.policy.wait_max_seconds
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if paced and isinstance(exc, SellingApiRequestThrottledException):
                return 0.0  # the next try waits for its quota token, which the 429 has pushed back
            return exponential(state)

        return wait

    def _stop_policy(self, *, paced: bool) -> Callable[[RetryCallState], bool]:
        failures = 0
        policy = self.policy

        def stop(state: RetryCallState) -> bool:
            nonlocal failures
            exc = state.outcome.exception() if state.outcome else None
            if paced and isinstance(exc, SellingApiRequestThrottledException):
                return False  # paced by the quota and bounded by SP_API_THROTTLE_LIMIT
            failures += 1
            return failures >= policy.attempts or state.seconds_since_start >= policy.deadline_seconds

        return stop

    def close(self) -> None:
        for instance in self._clients.values():
            instance.close()
        self._clients.clear()

    def __enter__(self) -> AccountClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def request_outcome(exc: BaseException) -> str:
    """The /metrics outcome of a request that raised: ``429``, ``4xx``, ``5xx``, ``timeout`` or
    ``connection`` (anything else the client raised counts as ``error``)."""
    if isinstance(exc, SellingApiRequestThrottledException):
        return "429"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.TransportError):
        return "connection"
    status = getattr(exc, "code", None) or getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 600:
        return f"{status // 100}xx"
    return "error"


def _sent_next_token(params: dict[str, Any]) -> bool:
    return bool(params.get("NextToken") or params.get("nextToken"))


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


def account_clients(account: Any, settings: Settings, **kwargs: Any) -> AccountClients:
    """Clients for a SellerAccount document; decrypts its refresh token just for these calls."""
    kwargs.setdefault("policy", RetryPolicy.from_settings(settings))
    if "quotas" not in kwargs:
        kwargs["quotas"] = QuotaBuckets(get_redis(settings), settings)
    kwargs.setdefault("metrics", WorkerMetrics(get_redis(settings), settings))
    return AccountClients(
        refresh_token=decrypt_token(account.refresh_token, settings),
        marketplace=marketplace_for(account.country),
        settings=settings,
        **kwargs,
    )
