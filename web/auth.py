"""Bearer-token authentication of the ``/app`` data routes (API_TOKENS).

Every resource needs a token unless it says ``auth_required = False`` (health, readiness, metrics,
the OpenAPI document and the dashboard page, which carry no job data). Static files have no resource
and are open too. Tokens are compared in constant time, each against every configured token, so the
time taken says nothing about which token or how much of it matched. With no token configured every
protected route answers 401: the API refuses rather than runs open.
"""

from __future__ import annotations

import hmac

import falcon

CHALLENGE = 'Bearer realm="sellersync"'


class BearerAuth:
    def __init__(self, tokens: tuple[str, ...]) -> None:
        self._tokens = tuple(t.encode() for t in tokens)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        if resource is None or not getattr(resource, "auth_required", True) or req.method == "OPTIONS":
            return
        if not self.is_valid(req.auth):
            raise falcon.HTTPUnauthorized(
                title="Authentication required",
                description="Send a valid API token as 'Authorization: Bearer <token>'.",
                challenges=[CHALLENGE],
            )

    def is_valid(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        presented = token.strip().encode()
        matched = False
        for expected in self._tokens:
            matched |= hmac.compare_digest(presented, expected)
        return matched
