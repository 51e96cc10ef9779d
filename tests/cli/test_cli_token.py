"""``sellersync token USER [--ttl 15m]``: a seller-scoped token the API accepts for USER only."""

from __future__ import annotations

from dataclasses import replace

import jwt
import pytest

from services.platform import user_tokens


def test_token_prints_a_token_that_names_the_user_and_lives_15_minutes(sellersync, settings):
    # When an operator mints a token for u1
    ran = sellersync("token", "u1")
    # Then stdout is one token, signed with USER_TOKEN_SECRET, for u1, living 15 minutes
    assert ran.code == 0 and ran.err == ""
    token = ran.out.strip()
    assert user_tokens.verify(token, settings.user_token_secret) == "u1"
    claims = jwt.decode(token, settings.user_token_secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize("ttl, seconds", [("30s", 30), ("15m", 900), ("1h", 3600), ("600", 600)])
def test_token_ttl_takes_seconds_minutes_or_hours(sellersync, settings, ttl, seconds):
    ran = sellersync("token", "u1", "--ttl", ttl, "--json")
    assert ran.code == 0
    data = ran.json()
    assert data["userId"] == "u1" and data["expiresAt"].endswith("Z")
    claims = jwt.decode(data["token"], settings.user_token_secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == seconds


@pytest.mark.parametrize("ttl", ["2h", "61m", "3601s", "0m", "soon", "-5m"])
def test_token_refuses_a_ttl_over_an_hour_or_malformed_in_one_line(sellersync, ttl):
    ran = sellersync("token", "u1", "--ttl", ttl)
    assert ran.code == 2 and ran.out == ""
    assert ran.err.count("\n") == 1 and "--ttl" in ran.err


def test_token_without_user_token_secret_is_a_one_line_error(sellersync, settings):
    # Given settings without USER_TOKEN_SECRET
    ran = sellersync("token", "u1", settings=replace(settings, user_token_secret=None))
    # Then it prints no token and says which setting is missing, in one line
    assert ran.code == 2 and ran.out == ""
    assert ran.err == "sellersync: USER_TOKEN_SECRET: not set; a seller-scoped token needs it\n"


def test_token_refuses_a_malformed_user_id(sellersync):
    ran = sellersync("token", "a/b")
    assert ran.code == 2 and ran.out == "" and ran.err.count("\n") == 1
