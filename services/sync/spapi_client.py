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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sp_api.api import Inventories, Orders, Sales
from sp_api.base import ApiResponse, Marketplaces
from sp_api.base.exceptions import SellingApiRequestThrottledException
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_random_exponential,
)

from services.platform.errors import QuotaWait, TransientSpApiError
from services.platform.redis_pool import get_redis
from services.platform.secrets import decrypt_token
from services.platform.settings import Settings
from services.platform.worker_metrics import WorkerMetrics
from services.sync.lwa import credentials, tls_context, token_client_class
from services.sync.marketplaces import marketplace_for, region_of
from services.sync.quotas import USAGE_PLANS, QuotaBuckets, Reservation
from services.sync.spapi_failures import TRANSIENT, MalformedResponse, request_outcome, translated

logger = logging.getLogger(__name__)

API_CLASSES = {"orders": Orders, "sales": Sales, "inventories": Inventories}


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


@dataclass(frozen=True)
class _Request:
    """One SP-API call: the library method and its parameters, the quota bucket it is paced by (None:
    unpaced) and where its requests are counted (None: nowhere)."""

    operation: str
    api: str
    method: str
    expect: str | type | None
    params: dict[str, Any]
    bucket: str | None
    #: Where the request's outcome and quota waits are counted (None: nowhere).
    metrics: WorkerMetrics | None


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
            instance = API_CLASSES[api](
                marketplace=self.marketplace,
                credentials=credentials(settings, self.refresh_token),
                timeout=settings.sp_api_timeout_seconds,
                verify=tls_context(),
                auth_token_client_class=token_client_class(settings.sp_api_lwa_endpoint),
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
        Each request's outcome and each quota wait are counted for /metrics (sent by the process with
        the other updates of its threads: services.platform.worker_metrics).
        """
        request = _Request(operation, api, method, expect, params, self._bucket(operation), self.metrics)
        return self._call(request)

    def _call(self, request: _Request) -> ApiResponse:
        paced = request.bucket is not None
        retrying = Retrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=self._wait_policy(paced=paced),
            stop=self._stop_policy(paced=paced),
            reraise=True,
            sleep=self.sleep,
            before_sleep=_log_retry(request.operation),
        )
        try:
            return retrying(self._attempt, request)
        except Exception as exc:
            failure = translated(exc, request.operation, request.params, self.refresh_token)
            if failure is exc:
                raise
            raise failure from None

    def _attempt(self, request: _Request) -> ApiResponse:
        """One try: a quota token, the request, its outcome counted, the payload checked."""
        operation, bucket, tally = request.operation, request.bucket, request.metrics
        reservation = self._wait_for_token(bucket, operation, tally) if bucket is not None else None
        self.calls[operation] = self.calls.get(operation, 0) + 1
        try:
            response = getattr(self.client(request.api), request.method)(**request.params)
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
        if not _documented(response.payload, request.expect):
            raise MalformedResponse(f"{operation} answered a body that is not the documented JSON")
        return response

    def _bucket(self, operation: str) -> str | None:
        if self.quotas is None or operation not in USAGE_PLANS:
            return None
        return self.quotas.bucket(self.refresh_token, region_of(self.marketplace), operation)

    def _wait_for_token(self, bucket: str, operation: str, tally: WorkerMetrics | None) -> Reservation:
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
        """Close the clients."""
        for instance in self._clients.values():
            instance.close()
        self._clients.clear()

    def __enter__(self) -> AccountClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _documented(payload: Any, expect: str | type | None) -> bool:
    """Whether a payload has the documented shape: a list, or a dict carrying ``expect``."""
    if expect is list:
        return isinstance(payload, list)
    return isinstance(payload, dict) and (expect is None or expect in payload)


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
