"""``users …`` and ``accounts …``: add a user, connect a seller account, list them, enable or disable."""

from __future__ import annotations

import argparse
import getpass

from cli.arguments import positive_int
from cli.context import Context
from cli.output import as_json, table
from services.operations import onboarding
from services.platform.errors import InvalidInputError


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    users = commands.add_parser("users", help="add, list, enable or disable users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = users.add_parser("add", parents=[common], help="add a user (sync enabled unless --disabled)")
    add.add_argument("user")
    add.add_argument("--email")
    add.add_argument("--disabled", action="store_true", help="add the user with sync disabled")
    add.set_defaults(run=users_add)
    listing = users.add_parser("list", parents=[common], help="every user, with its number of accounts")
    listing.add_argument("--limit", type=positive_int, help="at most this many users (by id)")
    listing.set_defaults(run=users_list)
    for name, enabled in (("enable", True), ("disable", False)):
        toggle = users.add_parser(name, parents=[common], help=f"{name} the user's scheduled sync")
        toggle.add_argument("user")
        toggle.set_defaults(run=users_toggle, enabled=enabled)

    accounts = commands.add_parser(
        "accounts", help="connect, list, re-authorise seller accounts"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    connect = accounts.add_parser(
        "add",
        parents=[common],
        help="connect a seller account; the refresh token is read from stdin or a prompt",
    )
    connect.add_argument("user")
    connect.add_argument("country", help="marketplace country code: US, DE, GB, JP…")
    connect.add_argument("--seller-id", required=True, help="the seller's merchant id")
    connect.set_defaults(run=accounts_add)
    listing = accounts.add_parser("list", parents=[common], help="the user's accounts (never their tokens)")
    listing.add_argument("user")
    listing.set_defaults(run=accounts_list)
    reauthorize = accounts.add_parser(
        "reauthorize", parents=[common], help="give an account a new refresh token (stdin); it becomes active"
    )
    reauthorize.add_argument("user")
    reauthorize.add_argument("country")
    reauthorize.set_defaults(run=accounts_reauthorize)
    disable = accounts.add_parser("disable", parents=[common], help="stop syncing an account")
    disable.add_argument("user")
    disable.add_argument("country")
    disable.set_defaults(run=accounts_disable)


# -- users -------------------------------------------------------------------------------------------
def users_add(ctx: Context, args: argparse.Namespace) -> int:
    user_id = onboarding.check_user_id(args.user, "USER")
    email = onboarding.check_email(args.email, "--email")
    ctx.store()
    user = onboarding.add_user(user_id, email=email, sync_enabled=not args.disabled)
    if ctx.json:
        as_json(onboarding.user_json(user), ctx.out)
    else:
        state = "enabled" if user.sync_enabled else "disabled"
        ctx.out.write(f"Added user {user.user_id} (sync {state}).\n")
    return 0


def users_list(ctx: Context, args: argparse.Namespace) -> int:
    ctx.store()
    rows = onboarding.list_users(args.limit)
    if ctx.json:
        users = [
            {**onboarding.user_json(r.user), "accounts": r.accounts, "activeAccounts": r.active_accounts}
            for r in rows
        ]
        as_json({"users": users}, ctx.out)
        return 0
    table(
        (
            (
                r.user.user_id,
                r.user.email,
                r.user.sync_enabled,
                f"{r.active_accounts}/{r.accounts}",
                r.user.last_synced_at,
            )
            for r in rows
        ),
        ("USER", "EMAIL", "SYNC", "ACCOUNTS (ACTIVE/ALL)", "LAST SYNCED"),
        ctx.out,
    )
    return 0


def users_toggle(ctx: Context, args: argparse.Namespace) -> int:
    user_id = onboarding.check_user_id(args.user, "USER")
    ctx.store()
    user = onboarding.set_sync_enabled(user_id, args.enabled)
    if ctx.json:
        as_json(onboarding.user_json(user), ctx.out)
    else:
        ctx.out.write(f"User {user.user_id}: sync {'enabled' if user.sync_enabled else 'disabled'}.\n")
    return 0


# -- accounts ----------------------------------------------------------------------------------------
def read_token(ctx: Context) -> str:
    """The refresh token: a hidden prompt on a terminal, else the first line of stdin. Never echoed."""
    if ctx.stdin.isatty():
        raw = getpass.getpass("Refresh token (not shown): ", stream=ctx.err)
    else:
        raw = ctx.stdin.readline()
    token = raw.strip()
    if not token:
        raise InvalidInputError("refresh token", "none given (pipe it on stdin, or type it at the prompt)")
    return onboarding.check_refresh_token(token, "refresh token")


def accounts_add(ctx: Context, args: argparse.Namespace) -> int:
    return _connect(ctx, args, must_exist=False)


def accounts_reauthorize(ctx: Context, args: argparse.Namespace) -> int:
    return _connect(ctx, args, must_exist=True)


def _connect(ctx: Context, args: argparse.Namespace, *, must_exist: bool) -> int:
    user_id = onboarding.check_user_id(args.user, "USER")
    country = onboarding.check_country(args.country, "COUNTRY")
    seller_id = onboarding.check_seller_id(args.seller_id, "--seller-id") if not must_exist else None
    token = read_token(ctx)
    connected = onboarding.connect_and_sync(
        ctx.producer(),
        user_id,
        country,
        token,
        seller_id=seller_id,
        settings=ctx.settings,
        must_exist=must_exist,
    )
    sync = connected.sync
    if ctx.json:
        as_json(
            {
                "userId": user_id,
                "account": onboarding.account_json(connected.account),
                "syncJobId": sync.job_id if sync else None,
            },
            ctx.out,
        )
        return 0
    account = connected.account
    verb = "Connected" if connected.created else "Re-authorised"
    ctx.out.write(
        f"{verb} account {account.label} of user {user_id} (seller {account.seller_id}): {account.status}.\n"
    )
    if sync:
        ctx.out.write(
            f"Sync enqueued: job {sync.job_id}. Follow it with: sellersync status --user {user_id}\n"
        )
    else:
        ctx.out.write(
            f"No sync enqueued: user {user_id}'s sync is disabled (sellersync users enable {user_id}).\n"
        )
    return 0


def accounts_list(ctx: Context, args: argparse.Namespace) -> int:
    user_id = onboarding.check_user_id(args.user, "USER")
    ctx.store()
    accounts = [onboarding.account_json(a) for a in onboarding.list_accounts(user_id)]
    if ctx.json:
        as_json({"userId": user_id, "accounts": accounts}, ctx.out)
        return 0
    table(
        (
            (
                a["region"],
                a["country"],
                a["marketplaceId"],
                a["sellerId"],
                a["status"],
                a["lastSyncedAt"],
                a["lastError"],
            )
            for a in accounts
        ),
        ("REGION", "COUNTRY", "MARKETPLACE", "SELLER", "STATUS", "LAST SYNCED", "LAST ERROR"),
        ctx.out,
    )
    return 0


def accounts_disable(ctx: Context, args: argparse.Namespace) -> int:
    user_id = onboarding.check_user_id(args.user, "USER")
    country = onboarding.check_country(args.country, "COUNTRY")
    ctx.store()
    account = onboarding.disable_account(user_id, country)
    if ctx.json:
        as_json({"userId": user_id, "account": onboarding.account_json(account)}, ctx.out)
    else:
        ctx.out.write(f"Disabled account {account.label} of user {user_id}.\n")
    return 0
