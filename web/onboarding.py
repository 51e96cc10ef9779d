"""The onboarding routes: the product's frontend adds a user and connects a seller after its consent.

    PUT    /app/users/{userId}                     create or update (email, syncEnabled)
    GET    /app/users/{userId}/accounts            the user's accounts, never a token
    PUT    /app/users/{userId}/accounts/{country}  connect or re-authorise (sellerId, refreshToken);
                                                   the user's sync is enqueued
    DELETE /app/users/{userId}/accounts/{country}  disable the account

Thin responders over services.operations.onboarding, whose checks turn a malformed value into a 400 naming the
field; a body with an unknown field is refused by name too (a typo must not pass silently). Every
responder serves seller-scoped tokens for their own user; another user answers 404 as an unknown one
(web.principals). Each resource declares its operations (``openapi``) and :data:`OPENAPI` its paths and
schemas, which web.openapi merges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import falcon

from services.jobs.producer import JobProducer
from services.operations import onboarding
from services.platform.errors import InvalidInputError, UnknownAccountError, UnknownUserError
from services.platform.settings import Settings
from web.apidoc import (
    TIMESTAMP,
    USER_ID_PARAM,
    Part,
    errors,
    json_body,
    json_response,
    nullable,
    object_of,
    path_param,
    ref,
)
from web.principals import check_visible, seller_may_call

USERS = "/app/users"
COUNTRY_PARAM = path_param("country", enum=list(onboarding.COUNTRIES))


@contextmanager
def _as_http() -> Iterator[None]:
    """A service's InvalidInputError is a 400 naming the field; UnknownAccountError a 404."""
    try:
        yield
    except InvalidInputError as exc:
        raise falcon.HTTPInvalidParam(exc.message[:1].upper() + exc.message[1:] + ".", exc.field) from None
    except UnknownAccountError as exc:
        raise falcon.HTTPNotFound(title="Unknown account", description=str(exc)) from None


def _user_id(req: falcon.Request, raw: str) -> str:
    """The path's user id, checked; a user the caller may not see is as unknown as a missing one."""
    with _as_http():
        user_id = onboarding.check_user_id(raw)
    check_visible(req, user_id, lambda: UnknownUserError(f"no user with id {user_id!r}"))
    return user_id


def _body(req: falcon.Request, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object of the request: only ``allowed`` fields, every ``required`` one."""
    body = req.get_media()
    if not isinstance(body, dict):
        raise falcon.HTTPInvalidParam("The body is a JSON object.", "body")
    for name in body:
        if name not in allowed:
            raise falcon.HTTPInvalidParam(f"Unknown field; expected {', '.join(allowed)}.", str(name))
    for name in required:
        if name not in body:
            raise falcon.HTTPBadRequest(
                title="Missing field",
                description=f'The body has no "{name}" field (required: {", ".join(required)}).',
            )
    return body


class UserResource:
    query_params = ()
    body_methods = ("PUT",)
    openapi = {
        "put": {
            "operationId": "putUser",
            "summary": "Create the user, or update the fields given (syncEnabled defaults to true).",
            "parameters": [USER_ID_PARAM],
            "requestBody": json_body("UserRequest"),
            "responses": {
                "200": json_response(ref("User"), "Updated."),
                "201": json_response(ref("User"), "Created."),
                **errors(400, 404, 413, 415),
            },
        }
    }

    @seller_may_call
    def on_put(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        user_id = _user_id(req, user_id)
        body = _body(req, ("email", "syncEnabled"))
        changes: dict[str, Any] = {}
        with _as_http():
            if "email" in body:
                changes["email"] = onboarding.check_email(body["email"])
            if "syncEnabled" in body:
                changes["sync_enabled"] = onboarding.check_bool(body["syncEnabled"], "syncEnabled")
        user, created = onboarding.save_user(user_id, **changes)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = onboarding.user_json(user)


class AccountsResource:
    query_params = ()
    openapi = {
        "get": {
            "operationId": "getUserAccounts",
            "summary": "The user's seller accounts (never their tokens).",
            "parameters": [USER_ID_PARAM],
            "responses": {
                "200": json_response(ref("AccountList"), "By region, then country."),
                **errors(400, 404),
            },
        }
    }

    @seller_may_call
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        user_id = _user_id(req, user_id)
        with _as_http():
            accounts = onboarding.list_accounts(user_id)
        resp.media = {"accounts": [onboarding.account_json(a) for a in accounts]}


class AccountResource:
    query_params = ()
    body_methods = ("PUT",)
    openapi = {
        "put": {
            "operationId": "putUserAccount",
            "summary": "Connect (or re-authorise) the account in a marketplace; enqueue the sync.",
            "parameters": [USER_ID_PARAM, COUNTRY_PARAM],
            "requestBody": json_body("AccountRequest"),
            "responses": {
                "200": json_response(ref("ConnectedAccount"), "Re-authorised: the account is active again."),
                "201": json_response(ref("ConnectedAccount"), "Connected."),
                **errors(400, 404, 413, 415),
            },
        },
        "delete": {
            "operationId": "disableUserAccount",
            "summary": "Stop syncing the account: it becomes disabled.",
            "parameters": [USER_ID_PARAM, COUNTRY_PARAM],
            "responses": {
                "200": json_response(ref("SellerAccount"), "The disabled account."),
                **errors(400, 404),
            },
        },
    }

    def __init__(self, producer: JobProducer, settings: Settings) -> None:
        self._producer = producer
        self._settings = settings

    @seller_may_call
    def on_put(self, req: falcon.Request, resp: falcon.Response, user_id: str, country: str) -> None:
        user_id = _user_id(req, user_id)
        with _as_http():
            country = onboarding.check_country(country)
        body = _body(req, ("sellerId", "refreshToken"), required=("sellerId", "refreshToken"))
        with _as_http():
            seller_id = onboarding.check_seller_id(body["sellerId"])
            token = onboarding.check_refresh_token(body["refreshToken"])
        connected = onboarding.connect_and_sync(
            self._producer, user_id, country, token, seller_id=seller_id, settings=self._settings
        )
        resp.status = falcon.HTTP_201 if connected.created else falcon.HTTP_200
        resp.media = {
            **onboarding.account_json(connected.account),
            "syncJobId": connected.sync.job_id if connected.sync else None,
        }

    @seller_may_call
    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str, country: str) -> None:
        user_id = _user_id(req, user_id)
        with _as_http():
            account = onboarding.disable_account(user_id, onboarding.check_country(country))
        resp.media = onboarding.account_json(account)


# -- the schemas of the onboarding bodies and answers (services.operations.onboarding's JSON) -------
_ACCOUNT_PROPERTIES = {
    "region": {"type": "string", "enum": ["na", "eu", "fe"]},
    "country": {"type": "string"},
    "marketplaceId": {"type": "string"},
    "sellerId": nullable({"type": "string"}),
    "status": {"type": "string", "enum": ["active", "auth_error", "disabled"]},
    "lastSyncedAt": nullable(TIMESTAMP),
    "lastError": nullable({"type": "string"}),
}
SCHEMAS = {
    "UserRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "email": nullable({"type": "string", "format": "email", "maxLength": onboarding.MAX_EMAIL}),
            "syncEnabled": {"type": "boolean"},
        },
    },
    "User": object_of(
        userId={"type": "string"},
        email=nullable({"type": "string"}),
        syncEnabled={"type": "boolean"},
        lastSyncedAt=nullable(TIMESTAMP),
        createdAt=nullable(TIMESTAMP),
    ),
    "AccountRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["sellerId", "refreshToken"],
        "properties": {
            "sellerId": {"type": "string", "pattern": onboarding.SELLER_ID_PATTERN},
            "refreshToken": {
                "type": "string",
                "pattern": onboarding.REFRESH_TOKEN_PATTERN,
                "writeOnly": True,
            },
        },
    },
    "SellerAccount": object_of(**_ACCOUNT_PROPERTIES),
    "ConnectedAccount": object_of(**_ACCOUNT_PROPERTIES, syncJobId=nullable({"type": "string"})),
    "AccountList": object_of(accounts={"type": "array", "items": ref("SellerAccount")}),
}

OPENAPI = Part(
    {
        f"{USERS}/{{userId}}": UserResource,
        f"{USERS}/{{userId}}/accounts": AccountsResource,
        f"{USERS}/{{userId}}/accounts/{{country}}": AccountResource,
    },
    SCHEMAS,
)
