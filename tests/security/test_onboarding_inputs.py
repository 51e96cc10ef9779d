"""Property tests of the onboarding entry points (services.operations.onboarding), given anything.

Users are added, saved, enabled or disabled; accounts connected, re-authorised, disabled and listed.
Whatever a caller passes (text with control characters or a lone surrogate, a MongoDB operator such as
``{"$ne": None}``, a list, None, a number, a huge string) the answer is a clean error of our own
(InvalidInputError naming the field, or an unknown user or account, or one that exists already) or a
correct result; never another exception, and a refusal writes nothing. A refresh token never appears
in an error, a returned value or a log line. Hypothesis is derandomized and keeps no database, so
every run tries the same inputs.
"""

from __future__ import annotations

import logging
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from models import JobStatus, SellerAccount, User
from models.jobs import ACTIVE_STATUSES
from services.operations import onboarding
from services.operations.demo import sandbox_token
from services.platform.errors import (
    AlreadyExistsError,
    InvalidInputError,
    UnknownAccountError,
    UnknownUserError,
)
from services.platform.secrets import decrypt_token
from services.sync.marketplaces import marketplace_for
from tests.security import inputs
from tests.security.inputs import ALWAYS, OPERATOR_VALUES, USERS
from tests.support.properties import derandomized

#: USERS: u1: sync enabled, an account in US; u2: sync disabled, accounts in US and DE; u3: no account.
COUNTRY_CODES = ("US", "de", "GB", "UK", "jp")
SELLERS = ("acme-us", "A2EXAMPLE123", "s.1_x-2")
EMAILS = ("ops@acme.example.com", "a@xn--bcher-kva.example")
#: A token whose shape is wrong (a space) but which is still a secret: no message may repeat it.
BAD_TOKEN = "Atzr|secret with a space"  # noqa: S105 (a test value)
TOKENS = (sandbox_token("acme-us"), sandbox_token("acme-us-2"), "Atzr|" + "x" * 2043)
HUGE = "u" * 100_000

#: Text of every kind, lone UTF-16 surrogates (category Cs) and control characters included.
TEXT = st.text(st.characters(categories=["Cs", "Cc", "Ll", "Lu", "Nd", "Po", "Zs", "Sm"]), max_size=40)
#: Anything a caller might pass where a value belongs.
ANYTHING = st.one_of(
    TEXT,
    st.sampled_from(
        ["", " u1", "U1", "u1\x00", "u1\n", "u.*", ".*", "$ne", "u1/x", "\ud800", "u\udfff", "a" * 129]
    ),
    st.just(HUGE),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.sampled_from([*USERS, "US", "x"]), max_size=3),
    OPERATOR_VALUES,
)
#: Always tried: operators that match every record, what no store encodes, a huge string, and a
#: trailing newline (which a regular expression's ``$`` lets through).
EXAMPLES = [*ALWAYS, "u1\n", 7, HUGE]
#: Stands for an argument left out (save_user's PUT semantics).
OMITTED = "<omitted>"
SETTINGS = derandomized(40)


def malformed_user_fields(user_id, email=OMITTED, sync_enabled=OMITTED) -> set[str]:
    """The REST names of the user's fields given malformed values (OMITTED: a field not given)."""
    malformed = {"userId"} if not is_user_id(user_id) else set()
    if email is not OMITTED and not is_email(email):
        malformed.add("email")
    if sync_enabled is not OMITTED and not isinstance(sync_enabled, bool):
        malformed.add("syncEnabled")
    return malformed


# -- what each value must be, written apart from the checks under test ---------------------------------
def is_user_id(value: object) -> bool:
    """1-128 characters, none '/' or of a control, format, line/paragraph separator or surrogate
    category; no white space at either end; not only dots (issue 19)."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 128
        and all(c != "/" and unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in value)
        and value == value.strip()
        and value.strip(".") != ""
    )


def is_country(value: object) -> bool:
    """A marketplace country code in ASCII, of either case."""
    return isinstance(value, str) and value.isascii() and value.upper() in onboarding.COUNTRIES


def is_seller_id(value: object) -> bool:
    allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
    return isinstance(value, str) and 1 <= len(value) <= 64 and all(c in allowed for c in value)


def is_token(value: object) -> bool:
    return isinstance(value, str) and 8 <= len(value) <= 2048 and all("!" <= c <= "~" for c in value)


def is_email(value: object) -> bool:
    """None, or what mongoengine's EmailField accepts (the rule is the library's, not ours)."""
    if value is None:
        return True
    try:
        onboarding.check_email(value)
    except InvalidInputError:
        return False
    return True


def known_user(value: object) -> User | None:
    """The user named by ``value``; the oracle itself never queries with what cannot be an id."""
    return User.objects(user_id=value).first() if is_user_id(value) else None


def account_in(user_id: str, country: str) -> SellerAccount | None:
    marketplace_id = marketplace_for(country.upper()).marketplace_id
    return SellerAccount.objects(user_id=user_id, marketplace_id=marketplace_id).first()


def with_examples(name: str, **others):
    return inputs.with_examples(EXAMPLES, name, **others)


def one_of_or_anything(values) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(values), ANYTHING)


@pytest.fixture
def onboarded(make_user) -> None:
    make_user("u1", [("US", "acme-us")])
    make_user("u2", [("US", "acme-us"), ("DE", "acme-de")], sync_enabled=False)
    make_user("u3")
    onboarding.disable_account("u2", "DE")


# -- users ------------------------------------------------------------------------------------------
def test_adding_a_user_gives_a_clean_error_or_that_new_user(onboarded, snapshot):
    @given(
        user_id=st.one_of(st.sampled_from([*USERS, "u4", "a" * 128, "ü 5"]), ANYTHING),
        email=st.one_of(st.sampled_from([None, *EMAILS]), ANYTHING),
        sync_enabled=st.one_of(st.booleans(), ANYTHING),
    )
    @with_examples("user_id", email=None, sync_enabled=True)
    @with_examples("email", user_id="u9", sync_enabled=False)
    @with_examples("sync_enabled", user_id="u9", email=None)
    @SETTINGS
    def check(user_id, email, sync_enabled):
        # Given the store as it is, and any user id, email and sync flag
        existed = known_user(user_id)
        before = snapshot()
        # When the user is added
        try:
            user = onboarding.add_user(user_id, email=email, sync_enabled=sync_enabled)
        except InvalidInputError as refused:
            # Then a refusal names a field whose value is malformed, and wrote nothing
            assert refused.field in malformed_user_fields(user_id, email, sync_enabled), refused
            assert snapshot() == before
            return
        except AlreadyExistsError:
            assert existed is not None and snapshot() == before
            return
        # Or the user is new, with exactly the values given
        assert existed is None and is_user_id(user_id) and isinstance(sync_enabled, bool)
        stored = User.objects.get(user_id=user_id)
        assert (user.user_id, user.email, user.sync_enabled) == (user_id, email, sync_enabled)
        assert (stored.email, stored.sync_enabled) == (email, sync_enabled)

    check()


def test_saving_a_user_gives_a_clean_error_or_changes_only_the_fields_given(onboarded, snapshot):
    @given(
        user_id=st.one_of(st.sampled_from([*USERS, "u4"]), ANYTHING),
        email=st.one_of(st.sampled_from([OMITTED, None, *EMAILS]), ANYTHING),
        sync_enabled=st.one_of(st.sampled_from([OMITTED, True, False]), ANYTHING),
    )
    @with_examples("user_id", email=OMITTED, sync_enabled=False)
    @with_examples("email", user_id="u1", sync_enabled=OMITTED)
    @with_examples("sync_enabled", user_id="u9", email=OMITTED)
    @SETTINGS
    def check(user_id, email, sync_enabled):
        # Given a user as it was (or none), and any values, some left out
        existed = known_user(user_id)
        before = snapshot()
        changes = {name: value for name, value in (("email", email), ("sync_enabled", sync_enabled))}
        changes = {name: value for name, value in changes.items() if value is not OMITTED}
        # When the user is saved (PUT semantics)
        try:
            user, created = onboarding.save_user(user_id, **changes)
        except InvalidInputError as refused:
            assert refused.field in malformed_user_fields(user_id, email, sync_enabled), refused
            assert snapshot() == before
            return
        # Then the user exists with the values given, and the others as they were (or the defaults)
        assert is_user_id(user_id) and created == (existed is None)
        stored = User.objects.get(user_id=user_id)
        was_email = existed.email if existed else None
        was_sync = existed.sync_enabled if existed else True
        assert stored.email == (was_email if email is OMITTED else email) == user.email
        assert stored.sync_enabled is (was_sync if sync_enabled is OMITTED else sync_enabled)
        if existed:
            assert stored.created_at == existed.created_at

    check()


def test_enabling_or_disabling_a_users_sync_gives_a_clean_error_or_sets_that_flag(onboarded, snapshot):
    @given(
        user_id=st.one_of(st.sampled_from([*USERS, "u4"]), ANYTHING),
        enabled=st.one_of(st.booleans(), ANYTHING),
    )
    @with_examples("user_id", enabled=False)
    @with_examples("enabled", user_id="u1")
    @SETTINGS
    def check(user_id, enabled):
        existed = known_user(user_id)
        before = snapshot()
        try:
            user = onboarding.set_sync_enabled(user_id, enabled)
        except InvalidInputError as refused:
            bad = {"userId": not is_user_id(user_id), "syncEnabled": not isinstance(enabled, bool)}
            assert bad.get(refused.field), refused
            assert snapshot() == before
            return
        except UnknownUserError:
            assert existed is None and snapshot() == before
            return
        # Only that user's flag changed, to exactly the value given
        assert existed is not None and isinstance(enabled, bool)
        assert user.user_id == user_id and User.objects.get(user_id=user_id).sync_enabled is enabled

    check()


# -- accounts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "must_exist", [None, True, False], ids=["connect or reauthorize", "reauthorize", "connect"]
)
def test_connecting_an_account_gives_a_clean_error_or_an_active_account_and_never_shows_its_token(
    onboarded, producer, settings, snapshot, caplog, must_exist
):
    @given(
        user_id=one_of_or_anything([*USERS, "u4"]),
        country=one_of_or_anything(COUNTRY_CODES),
        token=st.one_of(st.sampled_from([*TOKENS, BAD_TOKEN]), ANYTHING),
        seller_id=st.one_of(st.sampled_from([None, *SELLERS]), ANYTHING),
    )
    @with_examples("user_id", country="US", token=TOKENS[0], seller_id="acme-us")
    @with_examples("country", user_id="u1", token=TOKENS[0], seller_id="acme-us")
    @with_examples("token", user_id="u1", country="US", seller_id="acme-us")
    @with_examples("seller_id", user_id="u3", country="US", token=TOKENS[1])
    @example(user_id="u1", country="u\u017f", token=TOKENS[0], seller_id=None)
    @example(user_id="u1", country="US", token=BAD_TOKEN, seller_id=BAD_TOKEN)
    @example(user_id="u1", country="US", token=TOKENS[0] + "\n", seller_id="acme-us")
    @example(user_id="u1", country="US", token=TOKENS[0], seller_id="acme-us\n")
    @example(user_id="u3", country="de", token=TOKENS[1], seller_id=None)
    @SETTINGS
    def check(user_id, country, token, seller_id):
        # Given the user and its account in the country as they were, and any values
        user = known_user(user_id)
        existing = account_in(user_id, country) if user and is_country(country) else None
        before = snapshot()
        caplog.clear()
        # When the account is connected (or re-authorised)
        try:
            connected = onboarding.connect_and_sync(
                producer,
                user_id,
                country,
                token,
                seller_id=seller_id,
                settings=settings,
                must_exist=must_exist,
            )
        except (InvalidInputError, UnknownUserError, UnknownAccountError, AlreadyExistsError) as refused:
            # Then a refusal never repeats the token, and wrote nothing
            assert_secret(token, (user_id, country, seller_id), str(refused), repr(refused), caplog.text)
            assert snapshot() == before
            if isinstance(refused, InvalidInputError):
                bad = {
                    "userId": not is_user_id(user_id),
                    "country": not is_country(country),
                    "refreshToken": not is_token(token),
                    "sellerId": seller_id is not None and not is_seller_id(seller_id),
                }
                assert bad.get(refused.field), refused
            elif isinstance(refused, UnknownUserError):
                assert user is None
            elif isinstance(refused, UnknownAccountError):
                assert must_exist and existing is None
            else:
                assert must_exist is False and existing is not None
            return
        # Or the account is active with the new token (stored encrypted) and the seller id given (or kept)
        assert user is not None and is_country(country) and is_token(token)
        assert connected.created == (existing is None) and must_exist in (None, not connected.created)
        account = SellerAccount.objects.get(id=connected.account.id)
        assert account.user_id == user_id and account.status == "active"
        assert account.marketplace_id == marketplace_for(country.upper()).marketplace_id
        assert account.refresh_token != token and decrypt_token(account.refresh_token, settings) == token
        assert account.seller_id == (seller_id or (existing.seller_id if existing else None))
        # The user's sync is enqueued when it is enabled; the token is in no answer and no log line
        if user.sync_enabled:
            job = JobStatus.objects.get(job_id=connected.sync.job_id)
            assert job.user_id == user_id and job.status in ACTIVE_STATUSES
        else:
            assert connected.sync is None
        assert f"of user {user_id}." in caplog.text  # the log lines are read, not missed
        answers = (repr(connected), str(onboarding.account_json(connected.account)), caplog.text)
        assert_secret(token, (user_id, country, seller_id), *answers)

    with caplog.at_level(logging.DEBUG, logger="services"):
        check()


def test_disabling_an_account_gives_a_clean_error_or_disables_that_account(onboarded, snapshot):
    @given(
        user_id=one_of_or_anything([*USERS, "u4"]),
        country=one_of_or_anything(COUNTRY_CODES),
    )
    @with_examples("user_id", country="US")
    @with_examples("country", user_id="u2")
    @example(user_id="u1", country="u\u017f")
    @SETTINGS
    def check(user_id, country):
        user = known_user(user_id)
        existing = account_in(user_id, country) if user and is_country(country) else None
        before = snapshot()
        try:
            account = onboarding.disable_account(user_id, country)
        except InvalidInputError as refused:
            bad = {"userId": not is_user_id(user_id), "country": not is_country(country)}
            assert bad.get(refused.field), refused
            assert snapshot() == before
            return
        except UnknownUserError:
            assert user is None and snapshot() == before
            return
        except UnknownAccountError:
            assert user is not None and existing is None and snapshot() == before
            return
        # Exactly that account is disabled, its token kept
        assert existing is not None and account.id == existing.id
        stored = SellerAccount.objects.get(id=existing.id)
        assert stored.status == "disabled" and stored.refresh_token == existing.refresh_token

    check()


def test_listing_accounts_gives_a_clean_error_or_exactly_that_users_accounts(onboarded, snapshot):
    @given(user_id=one_of_or_anything([*USERS, "u4"]))
    @with_examples("user_id")
    @SETTINGS
    def check(user_id):
        user = known_user(user_id)
        before = snapshot()
        try:
            accounts = onboarding.list_accounts(user_id)
        except InvalidInputError as refused:
            assert refused.field == "userId" and not is_user_id(user_id)
            return
        except UnknownUserError:
            assert user is None
            return
        finally:
            assert snapshot() == before
        # Only that user's accounts, none of another user's; no answer carries a token
        assert user is not None
        assert sorted(a.id for a in accounts) == sorted(a.id for a in SellerAccount.objects(user_id=user_id))
        for account in accounts:
            assert "refreshToken" not in onboarding.account_json(account)

    check()


def assert_secret(token: object, others: tuple, *texts: str) -> None:
    """No text repeats the token: only a string long enough to be one is looked for, and not when
    another argument (a user id, which errors do name) contains it."""
    if not isinstance(token, str) or len(token) < 8:
        return
    if any(isinstance(other, str) and token in other for other in others):
        return
    for text in texts:
        assert token not in text
