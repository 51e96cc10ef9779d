"""services.operations.onboarding's checks: the clean value, or InvalidInputError naming the field."""

from __future__ import annotations

import pytest

from services.operations import onboarding
from services.platform.errors import InvalidInputError

OPERATORS = [{"$ne": None}, {"$gt": ""}, ["a"], 1, True, None]


@pytest.mark.parametrize("value", OPERATORS)
def test_a_value_that_is_not_a_string_is_refused_where_a_string_is_expected(value):
    for check, field in (
        (onboarding.check_user_id, "userId"),
        (onboarding.check_country, "country"),
        (onboarding.check_seller_id, "sellerId"),
        (onboarding.check_refresh_token, "refreshToken"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            check(value)
        assert refused.value.field == field


def test_clean_values_pass_and_countries_are_upper_cased():
    assert onboarding.check_user_id("seller 42") == "seller 42"
    assert onboarding.check_country("de") == "DE"
    assert onboarding.check_country("UK") == "UK"
    assert onboarding.check_seller_id("A2EXAMPLE123") == "A2EXAMPLE123"
    assert onboarding.check_refresh_token("Atzr|IwEBIA-example") == "Atzr|IwEBIA-example"
    assert onboarding.check_email(None) is None
    assert onboarding.check_email("ops@acme.example.com") == "ops@acme.example.com"
    assert onboarding.check_bool(False, "syncEnabled") is False


@pytest.mark.parametrize(
    "check, value",
    [
        (onboarding.check_user_id, "a/b"),
        (onboarding.check_user_id, "x" * 129),
        (onboarding.check_user_id, "tab\there"),
        (onboarding.check_country, "XX"),
        (onboarding.check_seller_id, "has space"),
        (onboarding.check_email, "not-an-email"),
        (onboarding.check_email, {"$ne": None}),
        (onboarding.check_email, "a@" + "b" * 260 + ".com"),
    ],
)
def test_malformed_strings_are_refused(check, value):
    with pytest.raises(InvalidInputError):
        check(value)


def test_the_message_about_a_refresh_token_never_repeats_it():
    secret = "Atzr|secret with a space"
    with pytest.raises(InvalidInputError) as refused:
        onboarding.check_refresh_token(secret)
    assert "secret" not in str(refused.value).replace("refreshToken", "")
    assert "Atzr" not in str(refused.value)


def test_a_boolean_must_be_a_json_boolean():
    for value in ("true", 1, None, {"$exists": True}):
        with pytest.raises(InvalidInputError):
            onboarding.check_bool(value, "syncEnabled")
