"""What happens around every SP-API operation, in Amazon's order: request id, authentication
(403), quota (429), injected faults, then the responder; afterwards the rate-limit header and
the stats."""

from __future__ import annotations

import time
import uuid

import falcon

from sandbox.errors import INVALID_TOKEN_DETAILS, NEXT_TOKEN_MESSAGE, ApiError, LwaError
from sandbox.faults import LWA_OPERATION, Fault
from sandbox.quotas import USAGE_PLANS
from sandbox.state import SandboxState
from sandbox.stats import FAILED, SERVED, THROTTLED
from sandbox.tokens import REFRESH_TOKEN_PREFIX

#: WSGI environ key the server reads to drop the connection instead of answering.
DROP_CONNECTION = "sandbox.drop_connection"
MALFORMED_BODY = "<html><body>502 Bad Gateway: upstream sent garbage</body></html>"


class Malformed(Exception):
    """Answer 200 with a body that is not JSON."""


class DropConnection(Exception):
    """Close the connection without answering (the server does it; see ``sandbox.server``)."""


def next_token_sent(req: falcon.Request) -> bool:
    return bool(req.params.get("NextToken") or req.params.get("nextToken"))


def apply_fault(req: falcon.Request, fault: Fault, operation: str) -> None:
    """Raise what the fault means; the app's error handlers render it."""
    req.context.faulted = True
    if fault.kind == "status":
        if operation == LWA_OPERATION:
            raise LwaError("server_error", status=fault.value)
        details = INVALID_TOKEN_DETAILS if fault.value == 403 else "Injected by the sandbox."
        raise ApiError(fault.value, details=details)
    if fault.kind == "lwa":
        raise LwaError(fault.value)
    if fault.kind == "expiredNextToken":
        raise ApiError(400, message=NEXT_TOKEN_MESSAGE)
    if fault.kind == "malformed":
        req.context.malformed = True
        raise Malformed()
    if fault.kind == "reset":
        req.env[DROP_CONNECTION] = True
        raise DropConnection()


def run_faults(state: SandboxState, req: falcon.Request, seller: str, operation: str) -> None:
    hit = state.faults.take(seller, operation, has_next_token=next_token_sent(req))
    if hit.latency:
        time.sleep(hit.latency)
    if hit.fault is not None:
        apply_fault(req, hit.fault, operation)


class OperationMiddleware:
    """Wraps resources that declare ``operation`` (and ``authenticated = False`` for LWA, which
    finds its seller in the body and runs its own faults)."""

    def __init__(self, state: SandboxState):
        self._state = state

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header("x-amzn-RequestId", str(uuid.uuid4()))

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        operation = getattr(resource, "operation", None)
        if operation is None or not getattr(resource, "authenticated", True):
            return
        seller = self._state.tokens.seller(req.get_header("x-amz-access-token"))
        if seller is None:
            raise ApiError(403, details=INVALID_TOKEN_DETAILS)
        req.context.seller, req.context.operation = seller, operation
        if not self._state.quotas.take(REFRESH_TOKEN_PREFIX + seller, operation, self._state.now()):
            raise ApiError(429)
        run_faults(self._state, req, seller, operation)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool
    ) -> None:
        operation = req.context.get("operation")
        if operation is None:
            return
        status = resp.status_code
        faulted = req.context.get("faulted", False)
        if operation in USAGE_PLANS and status in (200, 400, 404) and not req.context.get("malformed"):
            resp.set_header("x-amzn-RateLimit-Limit", USAGE_PLANS[operation].rate_header)
        seller = req.context.get("seller")
        if seller is not None:
            outcome = THROTTLED if status == 429 else SERVED if status < 300 and not faulted else FAILED
            self._state.stats.count(seller, operation, outcome)
