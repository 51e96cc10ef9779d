"""Bearer-token authentication of the ``/app`` data routes: operator tokens and seller-scoped tokens.

Every resource needs a token unless it says ``auth_required = False`` (health, readiness, metrics,
the OpenAPI document and the dashboard page, which carry no job data). Static files have no resource
and are open too. Two kinds of token are accepted (README, "REST API and dashboard"):

- an **operator token** (``API_TOKENS``), compared in constant time against every configured token,
  so the time taken says nothing about which token or how much of it matched: it may call everything;
- a **seller-scoped token** (a JWT signed with ``USER_TOKEN_SECRET``, services.platform.user_tokens): it names
  one user and may call only the responders marked open to sellers (web.principals), for that user.
  With ``USER_TOKEN_SECRET`` unset no scoped token is accepted.

With neither configured every protected route answers 401: the API refuses rather than runs open. A
valid scoped token on a responder no seller may call answers 403 (authenticated, not allowed), before
any validation.

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

from services.platform import user_tokens
from services.platform.errors import UserTokenError
from web.principals import OPERATOR, Principal, is_open_to_sellers

CHALLENGE = 'Bearer realm="sellersync"'


class BearerAuth:
    def __init__(self, tokens: tuple[str, ...], user_token_secret: str | None = None) -> None:
        self._tokens = tuple(t.encode() for t in tokens)
        self._secret = user_token_secret

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        if resource is None or not getattr(resource, "auth_required", True) or req.method == "OPTIONS":
            return
        caller = self.principal_of(req.auth)
        if caller is None:
            raise falcon.HTTPUnauthorized(
                title="Authentication required",
                description="Send a valid API token as 'Authorization: Bearer <token>'.",
                challenges=[CHALLENGE],
            )
        if not caller.is_operator and not is_open_to_sellers(resource, req.method):
            raise falcon.HTTPForbidden(
                title="Not allowed", description="A seller-scoped token may not call this route."
            )
        req.context.principal = caller

    def principal_of(self, header: str | None) -> Principal | None:
        """The caller the header names, or None when it names nobody we accept."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if self.is_operator_token(token):
            return OPERATOR
        if self._secret is None:
            return None
        try:
            return Principal(user_tokens.verify(token, self._secret))
        except UserTokenError:
            return None

    def is_valid(self, header: str | None) -> bool:
        return self.principal_of(header) is not None

    def is_operator_token(self, token: str) -> bool:
        presented = token.encode()
        matched = False
        for expected in self._tokens:
            matched |= hmac.compare_digest(presented, expected)
        return matched
