"""Seller-scoped tokens (issue 16, item 3): every /app route against six kinds of credential.

The table is every protected /app operation of the OpenAPI document (tests/security/routes.py), so a
new route must say here whether a seller may call it. Each cell is the status the route answers:

- an operator token (API_TOKENS): the route's success, as today;
- a scoped token of the user the request names (u1): the success on a route open to sellers, 403 on
  one for operators only;
- a scoped token of another user (u2): 404 on a route open to sellers (another user's objects are
  as unknown as missing ones), 403 on one for operators only;
- an expired token, one with ``alg: none``, one signed with another secret: 401.

Decision: a route no scoped token may call answers 403 (the token is valid, the route is not for
it); a refused cell writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import falcon
import falcon.testing
import jwt
import pytest

from services.operations.demo import sandbox_token
from services.platform import user_tokens
from tests.security.routes import concrete, protected_operations
from tests.web.factory import TOKEN
from web.app import create_app
from web.config import WebConfig
from web.openapi import build_document

QUEUED_JOB = "11111111-1111-4111-8111-111111111111"
FAILED_JOB = "22222222-2222-4222-8222-222222222222"
OTHERS_JOB = "33333333-3333-4333-8333-333333333333"
OTHER_SECRET = "another-secret-that-is-not-ours-0123456789"


@dataclass(frozen=True)
class Route:
    ok: int
    seller: bool
    body: dict | None = None
    job: str = FAILED_JOB


ROUTES = {
    ("GET", "/app/job-status/status/user/{userId}"): Route(200, seller=True),
    ("GET", "/app/job-status/status/job/{jobId}"): Route(200, seller=True),
    ("DELETE", "/app/job-status/job/{jobId}"): Route(200, seller=True, job=QUEUED_JOB),
    ("POST", "/app/job-status/job/{jobId}/retry"): Route(202, seller=True),
    ("POST", "/app/job-status/sync"): Route(202, seller=True, body={"userIds": ["u1"]}),
    ("PUT", "/app/users/{userId}"): Route(200, seller=True, body={"email": "u1@example.com"}),
    ("GET", "/app/users/{userId}/accounts"): Route(200, seller=True),
    ("PUT", "/app/users/{userId}/accounts/{country}"): Route(
        200, seller=True, body={"sellerId": "acme-us", "refreshToken": sandbox_token("acme-us")}
    ),
    ("DELETE", "/app/users/{userId}/accounts/{country}"): Route(200, seller=True),
    ("GET", "/app/job-status/recent"): Route(200, seller=False),
    ("GET", "/app/job-status/failed"): Route(200, seller=False),
    ("GET", "/app/job-status/queue/stats"): Route(200, seller=False),
    ("GET", "/app/job-status/overview"): Route(200, seller=False),
}
CREDENTIALS = ["operator", "own", "other user", "expired", "alg none", "other secret"]


def credential(kind: str, secret: str) -> str:
    """The bearer token of one column of the table."""
    if kind == "operator":
        return TOKEN
    if kind == "expired":
        return user_tokens.mint("u1", secret, 600, now=lambda: time.time() - 3600)
    if kind == "alg none":
        now = int(time.time())
        return jwt.encode({"sub": "u1", "iat": now, "exp": now + 600}, None, algorithm="none")
    if kind == "other secret":
        return user_tokens.mint("u1", OTHER_SECRET)
    return user_tokens.mint("u1" if kind == "own" else "u2", secret)


def expected(route: Route, kind: str) -> int:
    if kind == "operator" or (kind == "own" and route.seller):
        return route.ok
    if kind in ("own", "other user"):
        return 404 if route.seller else 403
    return 401


@pytest.fixture
def users(make_user, job) -> None:
    """u1 with an account, a queued and a failed job; u2 with an account and a job of its own."""
    make_user("u1", [("US", "acme-us")])
    make_user("u2", [("US", "beta-us")])
    job("u1", "queued", job_id=QUEUED_JOB)
    job("u1", "failed", job_id=FAILED_JOB, error=("TransientSpApiError", "getOrders: 503"))
    job("u2", "failed", job_id=OTHERS_JOB)


def test_the_table_covers_every_protected_app_route():
    assert set(ROUTES) == set(protected_operations())


def test_the_openapi_document_lists_the_seller_scheme_exactly_on_the_routes_open_to_sellers():
    # Given the document's security requirement of every protected operation
    document = build_document()
    for method, path in ROUTES:
        operation = document["paths"][path][method.lower()]
        schemes = {
            name for requirement in operation.get("security", document["security"]) for name in requirement
        }
        # Then an operator token is always one way in, and a seller's only where the table says
        assert "operatorToken" in schemes
        assert ("sellerToken" in schemes) == ROUTES[(method, path)].seller, (method, path)


@pytest.mark.parametrize("kind", CREDENTIALS)
@pytest.mark.parametrize("method, path", list(ROUTES), ids=" ".join)
def test_each_route_answers_each_kind_of_token(anonymous, settings, users, snapshot, method, path, kind):
    # Given u1's and u2's data, and a request about u1 that an operator may make
    route = ROUTES[(method, path)]
    headers = {"Authorization": f"Bearer {credential(kind, settings.user_token_secret)}"}
    before = snapshot()
    # When it is sent with this kind of token
    result = anonymous.simulate_request(
        method, concrete(path, jobId=route.job), headers=headers, json=route.body
    )
    # Then it answers the table's status, and a refused request wrote nothing
    assert result.status_code == expected(route, kind), result.text
    if result.status_code >= 400:
        assert snapshot() == before


def seller(user_id: str, secret: str) -> dict[str, str]:
    """The headers of a request with ``user_id``'s scoped token."""
    return {"Authorization": f"Bearer {user_tokens.mint(user_id, secret)}"}


def test_another_users_job_is_answered_as_an_unknown_one(anonymous, settings, users):
    # Given u1's token
    headers = seller("u1", settings.user_token_secret)
    missing = "44444444-4444-4444-8444-444444444444"
    for method, template in (
        ("GET", "/app/job-status/status/job/{}"),
        ("DELETE", "/app/job-status/job/{}"),
        ("POST", "/app/job-status/job/{}/retry"),
    ):
        # When it asks for u2's job and for a job that does not exist
        others = anonymous.simulate_request(method, template.format(OTHERS_JOB), headers=headers)
        none = anonymous.simulate_request(method, template.format(missing), headers=headers)
        # Then both are the same 404, but for the id
        assert others.status_code == none.status_code == 404
        assert others.text.replace(OTHERS_JOB, missing) == none.text


def test_a_sync_naming_another_user_enqueues_nothing_and_names_it_unknown(
    anonymous, settings, users, snapshot
):
    # Given u1's token and a body naming u1, u2 and a user that does not exist
    headers = seller("u1", settings.user_token_secret)
    before = snapshot()
    # When it requests their sync
    body = {"userIds": ["u1", "u2", "ghost"]}
    result = anonymous.simulate_post("/app/job-status/sync", headers=headers, json=body)
    # Then u2 is named unknown like the missing one, in order, and nothing is enqueued
    assert result.status_code == 404
    assert "'u2', 'ghost'" in result.json["description"]
    assert snapshot() == before


def test_the_user_status_shows_only_the_sellers_own_jobs(anonymous, settings, users):
    headers = seller("u1", settings.user_token_secret)
    result = anonymous.simulate_get("/app/job-status/status/user/u1", headers=headers)
    assert result.status_code == 200
    assert {j["jobId"] for j in result.json["jobs"]} == {QUEUED_JOB, FAILED_JOB}


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u1", "iat": 0, "exp": 3601},
        {"sub": "u1", "exp": 600},
        {"sub": "u1", "iat": 0},
        {"iat": 0, "exp": 600},
        {"sub": 1, "iat": 0, "exp": 600},
    ],
    ids=["lives over 1 h", "no iat", "no exp", "no sub", "sub not a string"],
)
def test_a_token_breaking_the_contract_is_refused(anonymous, settings, users, claims):
    # Given a token signed with our secret whose claims break the rules (times relative to now)
    now = int(time.time()) - 5
    claims = {k: v + now if k in ("iat", "exp") else v for k, v in claims.items()}
    token = jwt.encode(claims, settings.user_token_secret, algorithm="HS256")
    # When it is sent, then it is a 401
    result = anonymous.simulate_get(
        "/app/job-status/status/user/u1", headers={"Authorization": f"Bearer {token}"}
    )
    assert result.status_code == 401


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_another_hmac_algorithm_is_refused(anonymous, settings, users):
    now = int(time.time())
    claims = {"sub": "u1", "iat": now, "exp": now + 600}
    token = jwt.encode(claims, settings.user_token_secret, algorithm="HS512")
    result = anonymous.simulate_get(
        "/app/job-status/status/user/u1", headers={"Authorization": f"Bearer {token}"}
    )
    assert result.status_code == 401


def test_without_user_token_secret_scoped_tokens_are_refused(settings, producer, users):
    # Given the app without USER_TOKEN_SECRET
    config = WebConfig(settings=replace(settings, user_token_secret=None), stats_max_age_seconds=0)
    app = falcon.testing.TestClient(create_app(config, producer=producer))
    token = user_tokens.mint("u1", settings.user_token_secret)
    # When u1's token and an operator token are sent
    scoped = app.simulate_get("/app/job-status/status/user/u1", headers={"Authorization": f"Bearer {token}"})
    operator = app.simulate_get(
        "/app/job-status/status/user/u1", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    # Then the scoped one is a 401 and the operator's works as today
    assert scoped.status_code == 401
    assert operator.status_code == 200
