"""Who is calling: an operator (``API_TOKENS``) or one seller (a scoped token, services.platform.user_tokens).

web.auth puts a :class:`Principal` in ``req.context.principal`` before any responder runs. The scope
is two explicit rules, and nothing else in the app checks who is calling:

1. **Which responders a seller may call.** A responder marked :func:`seller_may_call` is open to a
   scoped principal; any other responder answers 403 to one (web.auth checks it, before validation).
   An operator may call every responder.
2. **Whose objects.** A responder open to sellers passes every user id it touches (a path's, a job's
   owner) through :func:`check_visible`, or a list of them (a sync's body) through
   :meth:`Principal.sees`: another user's objects are "not found", with the same 404 a missing object
   has, so a seller cannot probe which ids exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import falcon

Responder = TypeVar("Responder", bound=Callable)
_SELLER_MAY_CALL = "_seller_may_call"


@dataclass(frozen=True)
class Principal:
    """``user_id`` None: an operator, who sees every user; otherwise the one user a seller sees."""

    user_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.user_id is None

    def sees(self, user_id: str) -> bool:
        return self.is_operator or user_id == self.user_id


OPERATOR = Principal()


def seller_may_call(responder: Responder) -> Responder:
    """Mark a responder as open to scoped principals (it must then check ownership)."""
    setattr(responder, _SELLER_MAY_CALL, True)
    return responder


def is_open_to_sellers(resource: object, method: str) -> bool:
    responder = getattr(resource, f"on_{method.lower()}", None)
    return bool(getattr(responder, _SELLER_MAY_CALL, False))


def principal(req: falcon.Request) -> Principal:
    """The caller web.auth identified (an AttributeError, a 500, if auth did not run: fail closed)."""
    return req.context.principal


def check_visible(req: falcon.Request, user_id: str, not_found: Callable[[], Exception]) -> None:
    """Raise ``not_found()`` unless the caller may see ``user_id``'s objects."""
    if not principal(req).sees(user_id):
        raise not_found()
