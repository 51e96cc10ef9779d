"""Seller-scoped tokens: a short-lived JWT that names one user, for the product's frontend.

The product's main app mints them with the secret it shares with us (``USER_TOKEN_SECRET``);
``sellersync token USER`` mints one for tests and support. The contract:

- HS256 only (the algorithm is pinned: ``alg: none`` or any other algorithm is refused);
- ``sub`` is the user id, ``iat`` and ``exp`` are required, and ``exp - iat`` is at most
  :data:`MAX_TTL_SECONDS` (a token that claims to live longer is refused, even while still fresh);
- :data:`LEEWAY_SECONDS` of clock skew is tolerated on ``exp`` and ``iat``.

PyJWT does the cryptography and the time checks; this module only fixes the rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from services.platform.errors import UserTokenError

ALGORITHM = "HS256"
#: Seconds: the longest lifetime (``exp - iat``) a token may claim.
MAX_TTL_SECONDS = 3600
#: Seconds of clock skew tolerated between the minting app and us.
LEEWAY_SECONDS = 10
#: Seconds: the lifetime of a token minted without one.
DEFAULT_TTL_SECONDS = 900


def mint(
    user_id: str, secret: str, ttl_seconds: int = DEFAULT_TTL_SECONDS, *, now: Callable[[], float] = time.time
) -> str:
    """A token for ``user_id`` that expires ``ttl_seconds`` from ``now()`` (1 to MAX_TTL_SECONDS)."""
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise UserTokenError(f"the lifetime must be between 1 s and {MAX_TTL_SECONDS} s")
    issued = int(now())
    claims = {"sub": user_id, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(token: str, secret: str) -> str:
    """The user id that ``token`` names; UserTokenError when it is not a valid token of ours."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "iat", "exp"]},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise UserTokenError(str(exc)) from None
    lifetime = claims["exp"] - claims["iat"]
    if not isinstance(lifetime, int | float) or lifetime > MAX_TTL_SECONDS:
        raise UserTokenError(f"the token lives longer than {MAX_TTL_SECONDS} s")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise UserTokenError("the token names no user")
    return claims["sub"]


def parse_ttl(raw: str) -> int:
    """``30s``, ``15m``, ``1h`` (or plain seconds) as seconds, at most MAX_TTL_SECONDS."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = raw.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit() or int(number) == 0:
        raise UserTokenError(f"expected a lifetime such as 30s, 15m or 1h, got {raw!r}")
    seconds = int(number) * units[unit]
    if seconds > MAX_TTL_SECONDS:
        raise UserTokenError(f"a token lives at most 1h ({MAX_TTL_SECONDS} s), got {raw!r}")
    return seconds
