"""``sellersync users …``: add, list, enable, disable; exit codes and JSON."""

from __future__ import annotations

from models import User


def test_a_user_is_added_and_listed_as_a_table_and_as_json(sellersync):
    # Given no user
    # When an operator adds one, with an email, and lists the users
    added = sellersync("users", "add", "u1", "--email", "u1@example.com")
    table = sellersync("users", "list")
    listed = sellersync("users", "list", "--json")
    # Then the user exists with sync enabled and shows in both forms
    assert (added.code, added.err) == (0, "")
    assert "Added user u1 (sync enabled)." in added.out
    assert table.out.splitlines()[0].split()[:3] == ["USER", "EMAIL", "SYNC"]
    assert "u1@example.com" in table.out
    (user,) = listed.json()["users"]
    assert user["userId"] == "u1" and user["syncEnabled"] is True and user["accounts"] == 0
    assert User.objects.get(user_id="u1").created_at is not None


def test_a_user_added_disabled_is_enabled_then_disabled_again(sellersync):
    # Given a user added with its sync disabled
    assert sellersync("users", "add", "u1", "--disabled").code == 0
    assert User.objects.get(user_id="u1").sync_enabled is False
    # When it is enabled, then disabled
    enabled = sellersync("users", "enable", "u1", "--json")
    assert enabled.code == 0 and enabled.json()["syncEnabled"] is True
    disabled = sellersync("users", "disable", "u1")
    # Then the stored flag follows
    assert disabled.code == 0 and "sync disabled" in disabled.out
    assert User.objects.get(user_id="u1").sync_enabled is False


def test_adding_a_user_twice_fails_with_exit_1_and_one_line(sellersync):
    # Given a user
    sellersync("users", "add", "u1")
    # When it is added again
    again = sellersync("users", "add", "u1")
    # Then the operation fails: exit 1, one line on stderr, nothing on stdout
    assert again.code == 1
    assert again.err == "sellersync: user 'u1' exists already\n"
    assert again.out == ""


def test_an_unknown_user_cannot_be_enabled(sellersync):
    ran = sellersync("users", "enable", "ghost")
    assert ran.code == 1
    assert ran.err.strip() == "sellersync: no user with id 'ghost'"


def test_malformed_arguments_exit_2_with_one_line_naming_them(sellersync):
    # When the arguments are wrong in several ways
    cases = {
        ("users", "add", "a/b"): "USER",
        ("users", "add", "u1", "--email", "not-an-email"): "--email",
        ("users", "add", "u1", "--email", "x@example.com", "--bogus"): "--bogus",
        ("users",): "ACTION",
        (): "COMMAND",
        ("users", "list", "--limit", "0"): "--limit",
    }
    for argv, named in cases.items():
        ran = sellersync(*argv)
        # Then each is exit 2 with one line on stderr naming the argument, and no user is created
        assert ran.code == 2, argv
        assert len(ran.err.strip().splitlines()) == 1, (argv, ran.err)
        assert named in ran.err, (argv, ran.err)
    assert User.objects.count() == 0
