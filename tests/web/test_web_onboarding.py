"""The onboarding routes: PUT a user, PUT/DELETE its accounts, GET them; auth, validation, a real sync."""

from __future__ import annotations

import pytest

from models import JobStatus, SellerAccount, User
from models.jobs import FINISHED_STATUSES
from services.operations.demo import sandbox_token
from tests.support import wait_for

TOKEN_US = sandbox_token("acme-us")
USERS = "/app/users"


def finished_over_http(client, job_id: str) -> dict | None:
    """The job as the API shows it, once it has finished."""
    job = client.simulate_get(f"/app/job-status/status/job/{job_id}").json
    return job if job["status"] in FINISHED_STATUSES else None


ROUTES = [
    ("PUT", f"{USERS}/u1", {"email": "u1@example.com"}),
    ("GET", f"{USERS}/u1/accounts", None),
    ("PUT", f"{USERS}/u1/accounts/US", {"sellerId": "acme-us", "refreshToken": TOKEN_US}),
    ("DELETE", f"{USERS}/u1/accounts/US", None),
]


@pytest.mark.parametrize("method, path, body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_onboarding_route_needs_the_bearer_token(anonymous, make_user, method, path, body):
    # Given a user with an account
    make_user("u1", [("US", "acme-us")])
    # When a route is called without a token, and with a wrong one
    missing = anonymous.simulate_request(method, path, json=body)
    wrong = anonymous.simulate_request(
        method, path, json=body, headers={"Authorization": "Bearer wrong-token-0123456789"}
    )
    # Then both are 401 with the challenge, and nothing changed
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert User.objects.get(user_id="u1").email is None
    assert SellerAccount.objects.get(user_id="u1").status == "active"
    assert JobStatus.objects.count() == 0


def test_put_user_creates_then_updates_only_the_fields_given(client):
    # When a user is created with an email, then updated with only syncEnabled
    created = client.simulate_put(f"{USERS}/u1", json={"email": "u1@example.com"})
    updated = client.simulate_put(f"{USERS}/u1", json={"syncEnabled": False})
    cleared = client.simulate_put(f"{USERS}/u1", json={"email": None})
    # Then 201, then 200 with the email kept and sync disabled, then the email removed
    assert created.status_code == 201
    assert (
        created.json["userId"] == "u1" and created.json["syncEnabled"] is True and created.json["createdAt"]
    )
    assert updated.status_code == 200
    assert (updated.json["email"], updated.json["syncEnabled"]) == ("u1@example.com", False)
    assert cleared.status_code == 200 and cleared.json["email"] is None
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": {"$ne": None}}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"syncEnabled": "yes"}, "syncEnabled"),
        ({"syncEnabled": {"$exists": True}}, "syncEnabled"),
        ({"emial": "u1@example.com"}, "emial"),
        (["u1@example.com"], "body"),
    ],
)
def test_put_user_refuses_bad_input_naming_the_field(client, body, field):
    answer = client.simulate_put(f"{USERS}/u1", json=body)
    assert answer.status_code == 400
    assert f'"{field}"' in answer.json["description"]
    assert User.objects.count() == 0


def test_a_user_id_that_is_too_long_is_refused(client):
    answer = client.simulate_put(f"{USERS}/{'x' * 129}", json={})
    assert answer.status_code == 400 and '"userId"' in answer.json["description"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sellerId": "acme-us"}, "refreshToken"),
        ({"refreshToken": TOKEN_US}, "sellerId"),
        ({"sellerId": {"$gt": ""}, "refreshToken": TOKEN_US}, "sellerId"),
        ({"sellerId": "acme-us", "refreshToken": {"$ne": None}}, "refreshToken"),
        ({"sellerId": "acme-us", "refreshToken": "short"}, "refreshToken"),
        ({"sellerId": "acme-us", "refreshToken": TOKEN_US, "status": "active"}, "status"),
    ],
)
def test_put_account_refuses_bad_input_naming_the_field_and_never_echoes_a_token(
    client, make_user, body, field
):
    make_user("u1")
    answer = client.simulate_put(f"{USERS}/u1/accounts/US", json=body)
    assert answer.status_code == 400
    assert f'"{field}"' in answer.json["description"]
    assert TOKEN_US not in answer.text
    assert SellerAccount.objects.count() == 0 and JobStatus.objects.count() == 0


def test_an_unknown_country_is_a_400_naming_it(client, make_user):
    make_user("u1")
    answer = client.simulate_put(
        f"{USERS}/u1/accounts/XX", json={"sellerId": "acme", "refreshToken": TOKEN_US}
    )
    assert answer.status_code == 400 and '"country"' in answer.json["description"]


def test_unknown_users_and_accounts_are_404(client, make_user):
    body = {"sellerId": "acme-us", "refreshToken": TOKEN_US}
    assert client.simulate_put(f"{USERS}/ghost/accounts/US", json=body).status_code == 404
    assert client.simulate_get(f"{USERS}/ghost/accounts").status_code == 404
    make_user("u1")
    assert client.simulate_delete(f"{USERS}/u1/accounts/US").status_code == 404
    assert client.simulate_delete(f"{USERS}/ghost/accounts/US").status_code == 404


def test_an_account_connected_over_rest_is_synced_end_to_end(client, worker):
    # Given a user created over the API
    assert client.simulate_put(f"{USERS}/seller-1", json={"email": "s1@example.com"}).status_code == 201
    # When the frontend connects its US account after the seller's consent
    connected = client.simulate_put(
        f"{USERS}/seller-1/accounts/US", json={"sellerId": "acme-us", "refreshToken": TOKEN_US}
    )
    # Then the account is created, never showing the token, and its first sync runs on a real worker
    assert connected.status_code == 201
    assert TOKEN_US not in connected.text
    assert (connected.json["status"], connected.json["region"], connected.json["country"]) == (
        "active",
        "na",
        "US",
    )
    job = wait_for(lambda: finished_over_http(client, connected.json["syncJobId"]), timeout=60)
    assert job["status"] == "completed", job
    assert job["accounts"][0]["ordersFetched"] > 0
    # And it was an onboarding job in the priority lane, whose first look came before its full analysis
    assert (job["trigger"], job["lane"]) == ("onboarding", "priority")
    assert job["accounts"][0]["firstLookAt"] < job["accounts"][0]["analysedAt"]
    # And the account list shows it synced, without a token
    listed = client.simulate_get(f"{USERS}/seller-1/accounts")
    (account,) = listed.json["accounts"]
    assert account["lastSyncedAt"] is not None and account["sellerId"] == "acme-us"
    assert "refreshToken" not in account and "Atzr|" not in listed.text
    status = client.simulate_get("/app/job-status/status/user/seller-1").json
    assert status["lastSyncedAt"] is not None


def test_putting_an_account_again_reauthorises_it(client, make_user):
    # Given an account whose authorisation was refused
    make_user("u1", [("US", "acme-us")])
    SellerAccount.objects(user_id="u1").update_one(
        set__status="auth_error", set__last_error="LWA invalid_grant"
    )
    # When the frontend puts a new token
    answer = client.simulate_put(
        f"{USERS}/u1/accounts/US", json={"sellerId": "acme-us", "refreshToken": sandbox_token("acme-us-2")}
    )
    # Then 200: the same account, active again, and a sync queued
    assert answer.status_code == 200
    assert (answer.json["status"], answer.json["lastError"]) == ("active", None)
    queued = JobStatus.objects.get(job_id=answer.json["syncJobId"])
    assert (queued.status, queued.trigger, queued.lane) == ("queued", "onboarding", "priority")
    assert SellerAccount.objects.count() == 1


def test_delete_disables_the_account(client, make_user):
    make_user("u1", [("US", "acme-us"), ("DE", "acme-de")])
    answer = client.simulate_delete(f"{USERS}/u1/accounts/DE")
    assert answer.status_code == 200 and answer.json["status"] == "disabled"
    statuses = {
        a["country"]: a["status"] for a in client.simulate_get(f"{USERS}/u1/accounts").json["accounts"]
    }
    assert statuses == {"DE": "disabled", "US": "active"}


def test_connecting_an_account_of_a_user_with_sync_disabled_enqueues_nothing(client):
    client.simulate_put(f"{USERS}/u1", json={"syncEnabled": False})
    answer = client.simulate_put(
        f"{USERS}/u1/accounts/JP", json={"sellerId": "acme-jp", "refreshToken": TOKEN_US}
    )
    assert answer.status_code == 201
    assert answer.json["syncJobId"] is None and answer.json["region"] == "fe"
    assert JobStatus.objects.count() == 0
