"""Wiring: ``create_app(config)`` builds the Falcon app that answers like Amazon."""

from __future__ import annotations

import falcon

from sandbox.config import SandboxConfig
from sandbox.errors import STANDARD_ERRORS, ApiError, LwaError, error_body
from sandbox.pipeline import MALFORMED_BODY, DropConnection, Malformed, OperationMiddleware
from sandbox.resources.admin import (
    DataResource,
    FaultsResource,
    ProfileResource,
    ResetResource,
    StatsResource,
)
from sandbox.resources.inventory import InventorySummariesResource
from sandbox.resources.lwa import LwaTokenResource
from sandbox.resources.orders import OrderItemsResource, OrdersResource
from sandbox.resources.sales import OrderMetricsResource
from sandbox.state import SandboxState


class SandboxApp(falcon.App):
    """A falcon.App that also carries its ``state`` (stats, faults, data) for Python callers."""

    state: SandboxState


def _api_error(req, resp, ex: ApiError, params) -> None:
    resp.status = ex.status
    resp.media = ex.body()


def _lwa_error(req, resp, ex: LwaError, params) -> None:
    resp.status = ex.status
    resp.media = ex.body()


def _malformed(req, resp, ex, params) -> None:
    resp.status = 200
    resp.content_type = falcon.MEDIA_HTML
    resp.text = MALFORMED_BODY


def _dropped(req, resp, ex, params) -> None:
    # Only seen in-process (falcon.testing): a real server closes the socket instead.
    resp.status = 500
    resp.media = error_body("ConnectionReset", "The sandbox dropped this connection.")


def _serialize_http_error(req, resp, exception: falcon.HTTPError) -> None:
    """Falcon's own errors (404 route, 405, bad media, crashes) in Amazon's shape too."""
    code, message = STANDARD_ERRORS.get(exception.status_code, ("InternalFailure", exception.title))
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(code, message, exception.description or "")


def create_app(config: SandboxConfig | None = None, state: SandboxState | None = None) -> SandboxApp:
    """The sandbox as a WSGI app. ``state`` defaults to a fresh one built from ``config``."""
    state = state or SandboxState(config)
    app = SandboxApp(middleware=[OperationMiddleware(state)])
    app.state = state
    app.req_options.auto_parse_form_urlencoded = False  # LWA reads its own body
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler(LwaError, _lwa_error)
    app.add_error_handler(Malformed, _malformed)
    app.add_error_handler(DropConnection, _dropped)

    app.add_route("/auth/o2/token", LwaTokenResource(state))
    app.add_route("/orders/v0/orders", OrdersResource(state))
    app.add_route("/orders/v0/orders/{order_id}/orderItems", OrderItemsResource(state))
    app.add_route("/sales/v1/orderMetrics", OrderMetricsResource(state))
    app.add_route("/fba/inventory/v1/summaries", InventorySummariesResource(state))

    app.add_route("/_sandbox/stats", StatsResource(state))
    app.add_route("/_sandbox/reset", ResetResource(state))
    app.add_route("/_sandbox/sellers/{seller}/faults", FaultsResource(state))
    app.add_route("/_sandbox/sellers/{seller}/profile", ProfileResource(state))
    app.add_route("/_sandbox/sellers/{seller}/data", DataResource(state))
    return app
