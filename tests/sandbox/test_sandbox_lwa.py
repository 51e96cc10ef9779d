"""LWA token exchange and access-token checks, as python-amazon-sp-api sees them."""

from __future__ import annotations

import httpx
import pytest
from sp_api.api import Orders
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import SellingApiForbiddenException

from tests.sandbox.conftest import START
from tests.sandbox.helpers import iso

FORM = {
    "grant_type": "refresh_token",
    "client_id": "sandbox-app",
    "client_secret": "sandbox-secret",
    "refresh_token": "Atzr|sandbox-acme-us",
}


def test_form_and_json_token_exchange_answer_like_lwa(admin):
    # Given the library's form body and the Java client's JSON body
    # When each is posted to the token endpoint
    form = admin.post("/auth/o2/token", data=FORM)
    json_ = admin.post("/auth/o2/token", json=FORM)
    # Then both get a bearer access token for an hour, echoing the refresh token
    for response in (form, json_):
        assert response.status_code == 200
        body = response.json()
        assert body["access_token"].startswith("Atza|")
        assert body | {"access_token": "x"} == {
            "access_token": "x",
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": "Atzr|sandbox-acme-us",
        }
        assert response.headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"refresh_token": "Atzr|somebody-else"}, 400, "invalid_grant"),
        ({"refresh_token": "Atzr|sandbox-"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "other-app"}, 401, "invalid_client"),
    ],
)
def test_bad_credentials_get_lwa_errors(admin, change, status, error):
    response = admin.post("/auth/o2/token", data=FORM | change)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_library_raises_authorization_error_on_invalid_grant(sandbox, api):
    # Given a refresh token the sandbox does not know
    client = api(Orders, seller="acme-us")
    client._auth.cred.refresh_token = "Atzr|revoked-by-seller"
    # When the library needs an access token
    with pytest.raises(AuthorizationError) as raised:
        client.get_orders(CreatedAfter=iso(START))
    # Then it raises AuthorizationError carrying LWA's error code and status
    assert (raised.value.error_code, raised.value.status_code) == ("invalid_grant", 400)
    assert "invalid grant" in raised.value.message


def test_unknown_access_token_gets_403_unauthorized(sandbox):
    # Given an access token the sandbox never issued
    response = httpx.get(
        f"{sandbox.url}/orders/v0/orders",
        params={"MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": iso(START)},
        headers={"x-amz-access-token": "Atza|forged"},
    )
    # Then: 403 with Amazon's error body, and no rate-limit header
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in response.headers


def test_library_raises_forbidden_after_a_reset_forgets_its_token(sandbox, api):
    # Given a client that got a token, then a sandbox reset (tokens forgotten)
    client = api(Orders)
    client.get_orders(CreatedAfter=iso(START.replace(day=1)))
    httpx.post(f"{sandbox.url}/_sandbox/reset")
    # When it calls again with its cached token (the library does not refresh on 403)
    with pytest.raises(SellingApiForbiddenException) as raised:
        client.get_orders(CreatedAfter=iso(START.replace(day=1)))
    # Then it sees Unauthorized
    assert raised.value.amzn_code == "Unauthorized"
