"""Onboarding: users and their seller accounts, as the `sellersync` command and the REST API change them.

Every entry point passes its raw values through the ``check_*`` functions before it reads or writes
anything (the front ends call them first too, to name the field in their own terms): each returns the
clean value or raises :class:`InvalidInputError` naming the field, so only strings and booleans of a
known shape reach a query (a dict in place of an id can never become a MongoDB operator). A refresh token is
checked for shape only and never appears in an error, a log line or a return value: it goes straight
to ``services.operations.accounts.connect_account``, which stores it encrypted.

Connecting (or re-authorising) an account enqueues the user's sync at once, when the user's sync is
enabled, so a new seller's data arrives without waiting for the scheduler's next tick.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from mongoengine import EmailField, ValidationError
from sp_api.base import Marketplaces

from models import SellerAccount, User, utcnow
from services.jobs.json_shape import iso
from services.jobs.producer import Enqueued, JobProducer
from services.operations.accounts import connect_account
from services.platform.errors import (
    AlreadyExistsError,
    InvalidInputError,
    UnknownAccountError,
    UnknownUserError,
)
from services.platform.json_fields import fields_json
from services.platform.settings import Settings
from services.sync.marketplaces import marketplace_for

logger = logging.getLogger(__name__)

#: Characters no user id holds: control (Unicode Cc), format (Cf: soft hyphen, zero-width, bidi
#: controls, the BOM, tags...), line and paragraph separators (Zl, Zp), and '/' (it ends a path
#: segment). Such characters are invisible or reorder the text around them, so two ids that look alike
#: could name two users; tests/security/test_user_ids.py checks the list against unicodedata.
_NOT_IN_USER_IDS = (
    r"\x00-\x1f\x7f-\x9f/\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    r"\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
#: The same beyond the Basic Multilingual Plane, and lone surrogates: a document pattern (ECMA-262,
#: without its "u" flag) cannot name these, so only check_user_id refuses them.
_NOT_IN_USER_IDS_BEYOND = (
    r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    r"\U000e0001\U000e0020-\U000e007f\ud800-\udfff"
)
#: User ids are the product's own: 1-128 characters, none of the above, no white space at either end
#: (``" u1"`` is not ``"u1"`` but looks it), and not only dots (``.`` and ``..`` are path steps). This is
#: the pattern the OpenAPI document states. A lone UTF-16 surrogate, which JSON can carry (``"\ud800"``)
#: but no store encodes, is refused by ``check_user_id`` too.
#: The one rule of every front end: the REST API's routes (web.validation.user_id) and the command line.
USER_ID_PATTERN = rf"^(?!\.+$)(?!\s)(?!.*\s$)[^{_NOT_IN_USER_IDS}]{{1,128}}$"
#: Amazon merchant ids are upper-case letters and digits; the sandbox's are names like ``acme-us``.
SELLER_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
#: LWA refresh tokens (``Atzr|…``) are a few hundred printable characters without spaces.
REFRESH_TOKEN_PATTERN = r"^[\x21-\x7e]{8,2048}$"  # noqa: S105 (a pattern, not a secret)
#: Marketplace country codes, as python-amazon-sp-api names them (``UK`` is accepted for ``GB``).
COUNTRIES = tuple(sorted({m.name for m in Marketplaces} | {"UK"}))
MAX_EMAIL = 254

# fullmatch, not match: the patterns end in "$", which Python also lets match before a final "\n".
_USER_ID_RE = re.compile(
    rf"(?!\.+$)(?!\s)(?!.*\s$)[^{_NOT_IN_USER_IDS}{_NOT_IN_USER_IDS_BEYOND}]{{1,128}}", re.DOTALL
)
_SELLER_ID_RE = re.compile(SELLER_ID_PATTERN)
_TOKEN_RE = re.compile(REFRESH_TOKEN_PATTERN)


# -- values ----------------------------------------------------------------------------------------
def check_user_id(value: Any, field: str = "userId") -> str:
    if not isinstance(value, str) or not _USER_ID_RE.fullmatch(value):
        raise InvalidInputError(
            field,
            "a user id is 1-128 characters without control, format (zero-width, bidi) or separator"
            " characters or '/', with no space at either end, and not only dots",
        )
    return value


def check_email(value: Any, field: str = "email") -> str | None:
    """An email address, or None (no address)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_EMAIL:
        raise InvalidInputError(field, "an email address is a string of at most 254 characters")
    try:
        EmailField().validate(value)
    except ValidationError:
        raise InvalidInputError(field, "not a valid email address") from None
    return value


def check_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(field, "expected true or false")
    return value


def check_country(value: Any, field: str = "country") -> str:
    """A marketplace country code (``US``, ``DE``, ``GB``…), upper-cased."""
    # ASCII only: "uſ".upper() is "US", and a code is two letters, not what upper-cases to them.
    code = value.upper() if isinstance(value, str) and value.isascii() else None
    if code not in COUNTRIES:
        raise InvalidInputError(field, f"a marketplace country code is one of {', '.join(COUNTRIES)}")
    return code


def check_seller_id(value: Any, field: str = "sellerId") -> str:
    if not isinstance(value, str) or not _SELLER_ID_RE.fullmatch(value):
        raise InvalidInputError(field, "a seller id is 1-64 letters, digits, '.', '_' or '-'")
    return value


def check_refresh_token(value: Any, field: str = "refreshToken") -> str:
    """The token's shape only; the message never repeats what was given."""
    if not isinstance(value, str) or not _TOKEN_RE.fullmatch(value):
        raise InvalidInputError(field, "a refresh token is 8-2048 printable characters without spaces")
    return value


# -- users -----------------------------------------------------------------------------------------
_UNSET: Any = object()


def get_user(user_id: str) -> User:
    user = User.objects(user_id=user_id).first()
    if user is None:
        raise UnknownUserError(f"no user with id {user_id!r}")
    return user


def add_user(user_id: str, *, email: str | None = None, sync_enabled: bool = True) -> User:
    """Create a user; AlreadyExistsError when the id is taken."""
    user_id = check_user_id(user_id)
    email = check_email(email)
    sync_enabled = check_bool(sync_enabled, "syncEnabled")
    result = User.objects(user_id=user_id).update_one(
        upsert=True,
        set_on_insert__email=email,
        set_on_insert__sync_enabled=sync_enabled,
        set_on_insert__created_at=utcnow(),
        full_result=True,
    )
    if result.upserted_id is None:
        raise AlreadyExistsError(f"user {user_id!r} exists already")
    logger.info("Added user %s.", user_id)
    return get_user(user_id)


def save_user(user_id: str, *, email: Any = _UNSET, sync_enabled: Any = _UNSET) -> tuple[User, bool]:
    """Create the user or update the fields given (PUT semantics); returns (user, created)."""
    user_id = check_user_id(user_id)
    email = email if email is _UNSET else check_email(email)
    sync_enabled = sync_enabled if sync_enabled is _UNSET else check_bool(sync_enabled, "syncEnabled")
    changes: dict[str, Any] = {"set_on_insert__created_at": utcnow()}
    if email is None:
        changes["unset__email"] = True
    elif email is not _UNSET:
        changes["set__email"] = email
    if sync_enabled is _UNSET:
        changes["set_on_insert__sync_enabled"] = True
    else:
        changes["set__sync_enabled"] = sync_enabled
    result = User.objects(user_id=user_id).update_one(upsert=True, full_result=True, **changes)
    created = result.upserted_id is not None
    logger.info("%s user %s.", "Added" if created else "Updated", user_id)
    return get_user(user_id), created


def set_sync_enabled(user_id: str, enabled: bool) -> User:
    user_id = check_user_id(user_id)
    enabled = check_bool(enabled, "syncEnabled")
    if not User.objects(user_id=user_id).update_one(set__sync_enabled=enabled):
        raise UnknownUserError(f"no user with id {user_id!r}")
    logger.info("%s sync of user %s.", "Enabled" if enabled else "Disabled", user_id)
    return get_user(user_id)


@dataclass(frozen=True)
class UserRow:
    user: User
    accounts: int
    active_accounts: int


def list_users(limit: int | None = None) -> list[UserRow]:
    """Users by id, each with its number of accounts (one aggregate over the accounts)."""
    query = User.objects.order_by("user_id")
    users = list(query.limit(limit) if limit else query)
    counts: dict[str, list[int]] = {}
    pipeline = [
        {"$match": {"user_id": {"$in": [u.user_id for u in users]}}},
        {"$group": {"_id": {"user": "$user_id", "status": "$status"}, "n": {"$sum": 1}}},
    ]
    for row in SellerAccount._get_collection().aggregate(pipeline):
        total = counts.setdefault(row["_id"]["user"], [0, 0])
        total[0] += row["n"]
        if row["_id"]["status"] == "active":
            total[1] += row["n"]
    return [UserRow(u, *counts.get(u.user_id, [0, 0])) for u in users]


def user_json(user: User) -> dict[str, Any]:
    return {
        "userId": user.user_id,
        "email": user.email,
        "syncEnabled": bool(user.sync_enabled),
        "lastSyncedAt": iso(user.last_synced_at),
        "createdAt": iso(user.created_at),
    }


# -- accounts --------------------------------------------------------------------------------------
def list_accounts(user_id: str) -> list[SellerAccount]:
    user_id = check_user_id(user_id)
    get_user(user_id)
    return list(SellerAccount.objects(user_id=user_id).order_by("region", "country"))


def find_account(user_id: str, country: str) -> SellerAccount | None:
    marketplace_id = marketplace_for(country).marketplace_id
    return SellerAccount.objects(user_id=user_id, marketplace_id=marketplace_id).first()


def account_json(account: SellerAccount) -> dict[str, Any]:
    """An account as operators and clients see it: never its refresh token."""
    return {
        **fields_json(account, "region", "country", "marketplace_id", "seller_id", "status"),
        "lastSyncedAt": iso(account.last_synced_at),
        "lastError": account.last_error,
    }


@dataclass(frozen=True)
class Connected:
    account: SellerAccount
    #: True when the account is new; False when an existing one was re-authorised.
    created: bool
    #: The user's sync enqueued (or its job already queued); None when the user's sync is disabled.
    sync: Enqueued | None


def connect_and_sync(
    producer: JobProducer,
    user_id: str,
    country: str,
    refresh_token: str,
    *,
    seller_id: str | None,
    settings: Settings,
    must_exist: bool | None = None,
) -> Connected:
    """Store the account's token (encrypted), make it ``active`` and enqueue the user's sync.

    ``must_exist`` True: re-authorise only (UnknownAccountError when there is no such account);
    False: add only (AlreadyExistsError when the user has one in this marketplace); None: either.
    """
    user_id = check_user_id(user_id)
    country = check_country(country)
    refresh_token = check_refresh_token(refresh_token)
    seller_id = None if seller_id is None else check_seller_id(seller_id)
    user = get_user(user_id)
    existing = find_account(user_id, country)
    if must_exist and existing is None:
        raise UnknownAccountError(f"user {user_id!r} has no account in {country}")
    if must_exist is False and existing is not None:
        raise AlreadyExistsError(
            f"user {user_id!r} has an account in {country} already (to give it a new token: "
            "accounts reauthorize)"
        )
    seller_id = seller_id or (existing.seller_id if existing else None)
    account = connect_account(user_id, country, refresh_token, seller_id=seller_id, settings=settings)
    logger.info(
        "%s account %s of user %s.", "Connected" if not existing else "Re-authorised", account.label, user_id
    )
    sync = producer.enqueue_user(user_id, "onboarding") if user.sync_enabled else None
    return Connected(account, existing is None, sync)


def disable_account(user_id: str, country: str) -> SellerAccount:
    """Stop syncing the account (its token stays, encrypted, until it is re-authorised)."""
    user_id = check_user_id(user_id)
    country = check_country(country)
    get_user(user_id)
    account = find_account(user_id, country)
    if account is None:
        raise UnknownAccountError(f"user {user_id!r} has no account in {country}")
    SellerAccount.objects(id=account.id).update_one(set__status="disabled")
    logger.info("Disabled account %s of user %s.", account.label, user_id)
    account.reload()
    return account
