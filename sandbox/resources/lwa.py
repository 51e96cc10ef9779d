"""``POST /auth/o2/token``: Login with Amazon's refresh-token exchange."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import falcon

from sandbox.errors import LwaError
from sandbox.faults import LWA_OPERATION
from sandbox.pipeline import run_faults
from sandbox.resources import StateResource
from sandbox.tokens import seller_of_refresh_token

#: What Amazon says about an access token's life; the library ignores it (it caches 3200 s).
EXPIRES_IN = 3600


def read_body(req: falcon.Request) -> dict:
    """Form-encoded (python-amazon-sp-api) or JSON (Amazon's Java client)."""
    raw = req.bounded_stream.read().decode("utf-8", "replace")
    if "json" in (req.content_type or ""):
        try:
            body = json.loads(raw or "{}")
        except ValueError:
            raise LwaError("invalid_request") from None
        return body if isinstance(body, dict) else {}
    return {key: values[-1] for key, values in parse_qs(raw).items()}


class LwaTokenResource(StateResource):
    operation = LWA_OPERATION
    authenticated = False

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        config = self._state.config
        if body.get("grant_type") != "refresh_token":
            raise LwaError("unsupported_grant_type")
        if (
            body.get("client_id") != config.lwa_app_id
            or body.get("client_secret") != config.lwa_client_secret
        ):
            raise LwaError("invalid_client")
        refresh_token = body.get("refresh_token")
        seller = seller_of_refresh_token(refresh_token)
        if seller is None:
            raise LwaError("invalid_grant")
        req.context.seller, req.context.operation = seller, LWA_OPERATION
        run_faults(self._state, req, seller, LWA_OPERATION)
        resp.media = {
            "access_token": self._state.tokens.issue(seller),
            "token_type": "bearer",
            "expires_in": EXPIRES_IN,
            "refresh_token": refresh_token,
        }
