"""``token USER [--ttl 15m]``: mint a seller-scoped token for tests and support.

The token is signed with USER_TOKEN_SECRET (services.platform.user_tokens) and reaches only USER's status,
jobs, sync and accounts through the REST API. Nothing is read from the store: the token names a user id,
whether or not that user exists yet.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from cli.context import Context
from cli.output import as_json
from services.operations.onboarding import check_user_id
from services.platform import user_tokens
from services.platform.errors import SettingsError, UserTokenError


def ttl(raw: str) -> int:
    """``--ttl``: 30s, 15m, 1h (at most 1h); a malformed or too long one is a usage error (exit 2)."""
    try:
        return user_tokens.parse_ttl(raw)
    except UserTokenError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    token = commands.add_parser(
        "token", parents=[common], help="mint a seller-scoped API token for USER (needs USER_TOKEN_SECRET)"
    )
    token.add_argument("user", metavar="USER")
    token.add_argument(
        "--ttl", type=ttl, default=user_tokens.DEFAULT_TTL_SECONDS, help="lifetime, at most 1h (15m)"
    )
    token.set_defaults(run=token_cmd)


def token_cmd(ctx: Context, args: argparse.Namespace) -> int:
    secret = ctx.settings.user_token_secret
    if secret is None:
        raise SettingsError("USER_TOKEN_SECRET: not set; a seller-scoped token needs it")
    user_id = check_user_id(args.user)
    issued = int(time.time())
    token = user_tokens.mint(user_id, secret, args.ttl, now=lambda: issued)
    if ctx.json:
        expires = datetime.fromtimestamp(issued + args.ttl, UTC).isoformat().replace("+00:00", "Z")
        as_json({"userId": user_id, "token": token, "expiresAt": expires}, ctx.out)
    else:
        ctx.out.write(token + "\n")
    return 0
