"""``sellersync accounts …``: connect with the token on stdin, list, re-authorise, disable."""

from __future__ import annotations

import json
import logging

import pytest

from models import JobStatus, SellerAccount
from models.migrate import DOCUMENTS
from services.operations.demo import sandbox_token
from tests.support import wait_finished

TOKEN = sandbox_token("acme-us")


def everything_in_redis(client, namespace: str) -> str:
    """Every key and value of our namespace, as text (strings, hashes, lists, sets, sorted sets)."""
    parts = []
    for name in client.scan_iter(match=f"{namespace}:*", count=1000):
        kind = client.type(name).decode()
        value = {
            "string": lambda n: client.get(n),
            "hash": lambda n: client.hgetall(n),
            "list": lambda n: client.lrange(n, 0, -1),
            "set": lambda n: client.smembers(n),
            "zset": lambda n: client.zrange(n, 0, -1),
        }.get(kind, lambda n: b"")(name)
        parts.append(f"{name!r} {value!r}")
    return "\n".join(parts)


def everything_in_the_store() -> str:
    return "\n".join(
        json.dumps(d, default=str) for document in DOCUMENTS for d in document._get_collection().find({})
    )


def test_a_refresh_token_given_to_accounts_add_appears_nowhere_but_encrypted(
    sellersync, worker, settings, redis_client, caplog
):
    # Given a user, and every log line captured from here on (DEBUG, every logger, every thread)
    caplog.set_level(logging.DEBUG)
    sellersync("users", "add", "u1")
    # When the operator connects a sandbox seller with the token on stdin, the first sync runs, and the
    # account and job are shown in every form
    added = sellersync("accounts", "add", "u1", "US", "--seller-id", "acme-us", stdin=TOKEN + "\n")
    job_id = added.out.split("job ")[1].split(".")[0]
    assert wait_finished(job_id).status == "completed"
    shown = [
        added,
        sellersync("accounts", "list", "u1"),
        sellersync("accounts", "list", "u1", "--json"),
        sellersync("status", "--user", "u1", "--json"),
        sellersync("status", job_id),
        sellersync("accounts", "reauthorize", "u1", "US", stdin=TOKEN),
    ]
    # Then the token is in none of the output, logs, job records, documents or Redis keys and values
    assert all(r.code == 0 for r in shown), [r.err for r in shown]
    for ran in shown:
        assert TOKEN not in ran.out and TOKEN not in ran.err
        assert "sandbox-acme-us" not in ran.out + ran.err
    assert caplog.records, "the capture saw the sync's log lines"
    assert TOKEN not in caplog.text
    assert TOKEN not in everything_in_redis(redis_client, settings.redis_namespace)
    assert TOKEN not in everything_in_the_store()
    assert "sandbox-acme-us" not in json.dumps(
        [j.to_mongo().to_dict() for j in JobStatus.objects], default=str
    )
    # And the stored form decrypts to it (it was stored, encrypted)
    from services.platform.secrets import decrypt_token

    assert decrypt_token(SellerAccount.objects.get(user_id="u1").refresh_token, settings) == TOKEN


def test_accounts_add_connects_the_account_and_enqueues_the_first_sync(sellersync):
    # Given a user
    sellersync("users", "add", "u1")
    # When a German account is connected, JSON out
    ran = sellersync(
        "accounts", "add", "u1", "de", "--seller-id", "acme-de", "--json", stdin=sandbox_token("acme-de")
    )
    # Then the account is active in eu/DE and the user's sync is queued
    assert ran.code == 0, ran.err
    body = ran.json()
    assert body["account"] == {
        "region": "eu",
        "country": "DE",
        "marketplaceId": "A1PA6795UKMFR9",
        "sellerId": "acme-de",
        "status": "active",
        "lastSyncedAt": None,
        "lastError": None,
    }
    assert JobStatus.objects.get(job_id=body["syncJobId"]).status == "queued"


def test_accounts_add_for_a_disabled_user_enqueues_nothing(sellersync):
    sellersync("users", "add", "u1", "--disabled")
    ran = sellersync("accounts", "add", "u1", "US", "--seller-id", "acme-us", stdin=TOKEN)
    assert ran.code == 0
    assert "No sync enqueued" in ran.out
    assert JobStatus.objects.count() == 0


def test_accounts_add_refuses_bad_input_with_exit_2_and_never_echoes_the_token(sellersync):
    # Given a user
    sellersync("users", "add", "u1")
    cases = [
        (("accounts", "add", "u1", "US", "--seller-id", "acme-us"), "", "refresh token"),
        (("accounts", "add", "u1", "US", "--seller-id", "acme-us"), "has spaces in it\n", "refresh token"),
        (("accounts", "add", "u1", "XX", "--seller-id", "acme-us"), TOKEN, "COUNTRY"),
        (("accounts", "add", "u1", "US", "--seller-id", "acme us"), TOKEN, "--seller-id"),
        (("accounts", "add", "u1", "US"), TOKEN, "--seller-id"),
    ]
    for argv, stdin, named in cases:
        # When the input is malformed
        ran = sellersync(*argv, stdin=stdin)
        # Then exit 2, one line naming the input, without the token
        assert ran.code == 2, (argv, ran.err)
        assert named in ran.err and len(ran.err.splitlines()) == 1, ran.err
        assert "has spaces" not in ran.err and TOKEN not in ran.err
    assert SellerAccount.objects.count() == 0


def test_accounts_add_fails_for_an_unknown_user_or_an_account_already_connected(sellersync):
    unknown = sellersync("accounts", "add", "ghost", "US", "--seller-id", "acme-us", stdin=TOKEN)
    assert (unknown.code, unknown.err.strip()) == (1, "sellersync: no user with id 'ghost'")
    sellersync("users", "add", "u1")
    assert sellersync("accounts", "add", "u1", "US", "--seller-id", "acme-us", stdin=TOKEN).code == 0
    again = sellersync("accounts", "add", "u1", "US", "--seller-id", "acme-us", stdin=TOKEN)
    assert again.code == 1 and "accounts reauthorize" in again.err


def test_reauthorize_makes_an_auth_error_account_active_again(sellersync, make_user):
    # Given an account whose authorisation Amazon refused
    make_user("u1", [("US", "acme-us")])
    SellerAccount.objects(user_id="u1").update_one(
        set__status="auth_error", set__last_error="LWA invalid_grant"
    )
    # When the operator gives it a new token
    ran = sellersync("accounts", "reauthorize", "u1", "US", "--json", stdin=sandbox_token("acme-us-2"))
    # Then it is active, its error is gone, its seller id kept, and a sync is queued
    assert ran.code == 0, ran.err
    account = ran.json()["account"]
    assert (account["status"], account["lastError"], account["sellerId"]) == ("active", None, "acme-us")
    assert ran.json()["syncJobId"]


def test_reauthorize_fails_for_an_account_that_does_not_exist(sellersync, make_user):
    make_user("u1")
    ran = sellersync("accounts", "reauthorize", "u1", "JP", stdin=TOKEN)
    assert ran.code == 1
    assert ran.err.strip() == "sellersync: user 'u1' has no account in JP"


def test_accounts_list_shows_every_account_but_never_a_token(sellersync, make_user):
    # Given a user with two accounts
    make_user("u1", [("US", "acme-us"), ("JP", "acme-jp")])
    # When they are listed
    table = sellersync("accounts", "list", "u1")
    listed = sellersync("accounts", "list", "u1", "--json")
    # Then both show, by region, with no token field and no token text
    assert [a["country"] for a in listed.json()["accounts"]] == ["JP", "US"]
    assert all("refreshToken" not in a and "refresh_token" not in a for a in listed.json()["accounts"])
    assert "Atzr|" not in table.out + listed.out
    assert table.out.splitlines()[0].split()[:2] == ["REGION", "COUNTRY"]


def test_accounts_list_of_an_unknown_user_fails(sellersync):
    assert sellersync("accounts", "list", "ghost").code == 1


def test_accounts_disable_stops_syncing_the_account(sellersync, make_user):
    make_user("u1", [("US", "acme-us")])
    ran = sellersync("accounts", "disable", "u1", "US", "--json")
    assert ran.code == 0 and ran.json()["account"]["status"] == "disabled"
    assert SellerAccount.objects.get(user_id="u1").status == "disabled"
    missing = sellersync("accounts", "disable", "u1", "DE")
    assert missing.code == 1


@pytest.mark.parametrize("country", ["UK", "gb"])
def test_the_uk_is_accepted_as_uk_or_gb(sellersync, make_user, country):
    make_user("u1")
    ran = sellersync("accounts", "add", "u1", country, "--seller-id", "acme-uk", "--json", stdin=TOKEN)
    assert ran.code == 0, ran.err
    assert ran.json()["account"]["country"] == "GB"
