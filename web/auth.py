"""Bearer-token authentication of the ``/app`` data routes (API_TOKENS).

Every resource needs a token unless it says ``auth_required = False`` (health, readiness, metrics,
the OpenAPI document and the dashboard page, which carry no job data). Static files have no resource
and are open too. Tokens are compared in constant time, each against every configured token, so the
time taken says nothing about which token or how much of it matched. With no token configured every
protected route answers 401: the API refuses rather than runs open.

The accepted form is ``Authorization: Bearer <token>``. The scheme name is matched case-insensitively
(``bearer``, ``BEARER``), as RFC 7235 section 2.1 says of every auth-scheme and as RFC 6750's bearer
clients may send it; the token itself is compared exactly. Anything else is a 401 with a
``WWW-Authenticate: Bearer`` challenge: no header, an empty token, another scheme (``Basic``,
``Token``), or a token with no scheme. A token is only ever read from this header, never from the
URL (RFC 6750 section 2.3 allows ``?access_token=``, and it leaks into logs and browser history).
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
