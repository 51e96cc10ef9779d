"""What an SP-API failure means: retried within the call, transient for the job, permanent, or the
account's authorisation; and the outcome label each request counts under in /metrics."""

from __future__ import annotations

from typing import Any

import httpx
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import (
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiGatewayTimeoutException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)

from services.platform.errors import AccountAuthError, PermanentSpApiError, TransientSpApiError
from services.sync.lwa import forget_access_token, lwa_failure


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


def translated(exc: Exception, operation: str, params: dict[str, Any], refresh_token: str) -> Exception:
    """The error a call raises once its retries are spent (``exc`` itself when it is already ours)."""
    if isinstance(exc, AuthorizationError):
        return lwa_failure(exc)
    if isinstance(exc, SellingApiForbiddenException):
        forget_access_token(refresh_token)  # the token may have been revoked with the grant
        return AccountAuthError(f"{operation}: 403 {exc.amzn_code or 'Unauthorized'}: {exc.message}")
    if isinstance(exc, SellingApiException):
        status = getattr(exc, "code", "?")
        message = f"{operation}: HTTP {status} {exc.amzn_code}: {exc.message}"
        if status == 400 and _sent_next_token(params) and "token" in str(exc.message).lower():
            return NextTokenRejected(message)
        error = TransientSpApiError if isinstance(exc, TRANSIENT) else PermanentSpApiError
        return error(message)
    if isinstance(exc, httpx.TransportError):
        return TransientSpApiError(f"{operation}: {type(exc).__name__}: {exc or 'connection failed'}")
    if isinstance(exc, ValueError) and not isinstance(exc, MalformedResponse):
        # The LWA endpoint answered an error that is not JSON.
        return TransientSpApiError(f"{operation}: LWA answered a body that is not JSON ({exc})")
    return exc


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


def _sent_next_token(params: dict[str, Any]) -> bool:
    return bool(params.get("NextToken") or params.get("nextToken"))
