"""Bearer-token authentication: every /app data route needs a token; health, metrics, docs and the
dashboard's page and assets do not."""

from __future__ import annotations

from dataclasses import replace

import falcon
import falcon.testing
import pytest

from tests.security.routes import UNKNOWN_JOB_ID
from tests.web.factory import TOKEN
from web.app import create_app
from web.auth import BearerAuth
from web.config import WebConfig

BASE = "/app/job-status"
DATA_ROUTES = [
    ("GET", f"{BASE}/status/user/u1"),
    ("GET", f"{BASE}/status/job/{UNKNOWN_JOB_ID}"),
    ("GET", f"{BASE}/recent"),
    ("GET", f"{BASE}/queue/stats"),
    ("GET", f"{BASE}/failed"),
    ("GET", f"{BASE}/overview"),
    ("POST", f"{BASE}/sync"),
    ("DELETE", f"{BASE}/job/{UNKNOWN_JOB_ID}"),
    ("POST", f"{BASE}/job/{UNKNOWN_JOB_ID}/retry"),
]
OPEN_ROUTES = ["/health", "/ready", "/metrics", "/openapi.json", f"{BASE}/", f"{BASE}/static/dashboard.js"]


def assert_unauthorized(result) -> None:
    assert result.status == falcon.HTTP_401
    assert result.headers["www-authenticate"].startswith("Bearer")
    assert result.json["title"] == "Authentication required"


@pytest.mark.parametrize("method, path", DATA_ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"{TOKEN}"],
)
def test_data_routes_refuse_a_missing_or_wrong_token(anonymous, method, path, authorization):
    # Given a request without the right bearer token
    headers = {"Authorization": authorization} if authorization is not None else {}
    # When / Then: 401 with a Bearer challenge, before any validation or lookup
    assert_unauthorized(anonymous.simulate_request(method, path, headers=headers))


@pytest.mark.parametrize("path", OPEN_ROUTES)
def test_open_routes_need_no_token(anonymous, path):
    assert anonymous.simulate_get(path).status == falcon.HTTP_200


def test_the_token_scheme_is_case_insensitive(anonymous):
    result = anonymous.simulate_get(f"{BASE}/recent", headers={"Authorization": f"bearer {TOKEN}"})
    assert result.status == falcon.HTTP_200


def test_any_configured_token_is_accepted(settings, producer):
    # Given two configured tokens
    other = "second-token-abcdefghijklmnop"
    config = WebConfig(settings=replace(settings, api_tokens=(TOKEN, other)), stats_max_age_seconds=0)
    client = falcon.testing.TestClient(create_app(config, producer=producer))
    # When / Then
    for token in (TOKEN, other):
        result = client.simulate_get(f"{BASE}/recent", headers={"Authorization": f"Bearer {token}"})
        assert result.status == falcon.HTTP_200


@pytest.mark.parametrize("method, path", DATA_ROUTES)
def test_with_no_tokens_configured_every_data_route_is_401(settings, producer, method, path):
    # Given API_TOKENS unset
    config = WebConfig(settings=replace(settings, api_tokens=()), stats_max_age_seconds=0)
    client = falcon.testing.TestClient(create_app(config, producer=producer))
    # When / Then: even an empty or arbitrary bearer token is refused
    for authorization in ("Bearer ", f"Bearer {TOKEN}"):
        assert_unauthorized(client.simulate_request(method, path, headers={"Authorization": authorization}))
    assert client.simulate_get("/health").status == falcon.HTTP_200


def test_is_valid_compares_every_token():
    auth = BearerAuth(("a" * 16, "b" * 16))
    assert auth.is_valid("Bearer " + "b" * 16)
    assert not auth.is_valid("Bearer " + "c" * 16)
    assert not auth.is_valid(None)
    assert not BearerAuth(()).is_valid("Bearer " + "a" * 16)
