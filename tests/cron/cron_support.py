"""Test support for the scheduler: deterministic seeding, reading the broker's queue, and a process entry.

Every scheduler process of a multi-process test seeds the same users (idempotently) in the shared
store, then runs the real scheduler:

    python -m tests.cron.cron_support --users 300 [--wait-go] -- --once

With ``--wait-go`` it prints ``ready`` once seeded and waits for a line on stdin, so that a test can
start several schedulers' ticks at the same moment. Results are observed through Redis, which all
processes share.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

import redis
from dramatiq import Message
from pymongo.errors import BulkWriteError, DuplicateKeyError

from actors.messages import user_id_of
from models import SellerAccount, User
from services.platform.redis_pool import key
from services.platform.settings import Settings

#: A fixed "long ago": seeded users synced at this time (plus their number in seconds) are due.
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def seeded_ids(count: int, prefix: str = "due") -> list[str]:
    """The ids ``seed_due_users(count, prefix)`` creates, oldest sync first (the order a tick uses)."""
    never = [f"{prefix}-{n:06d}" for n in range(count) if n % 2 == 1]
    synced = [f"{prefix}-{n:06d}" for n in range(count) if n % 2 == 0]
    return never + synced


def seed_due_users(count: int, prefix: str = "due") -> list[str]:
    """``count`` due users, each with one active account: odd ones never synced, even ones long ago.

    Deterministic and idempotent (a shared real MongoDB may see it from several processes).
    """
    users, accounts = [], []
    for n in range(count):
        user_id = f"{prefix}-{n:06d}"
        user = {"user_id": user_id, "sync_enabled": True, "created_at": LONG_AGO}
        if n % 2 == 0:
            user["last_synced_at"] = LONG_AGO + timedelta(seconds=n)
        users.append(user)
        accounts.append(
            {
                "user_id": user_id,
                "region": "na",
                "country": "US",
                "marketplace_id": "ATVPDKIKX0DER",
                "refresh_token": "not-a-real-token",
                "status": "active",
            }
        )
    for document, rows in ((User, users), (SellerAccount, accounts)):
        try:
            if rows:
                document._get_collection().insert_many(rows, ordered=False)
        except (BulkWriteError, DuplicateKeyError):
            pass  # already seeded by another process
    return seeded_ids(count, prefix)


def queued_user_ids(client: redis.Redis, settings: Settings, queue: str = "sync") -> list[str]:
    """The user id of every message waiting on the broker's queue, in queue order."""
    message_ids = client.lrange(key(settings, queue), 0, -1)
    if not message_ids:
        return []
    payloads = client.hmget(key(settings, f"{queue}.msgs"), message_ids)
    return [user_id_of(Message.decode(payload)) for payload in payloads]


def active_user_ids(client: redis.Redis, settings: Settings) -> set[str]:
    prefix = key(settings, "active", "")
    return {name.decode()[len(prefix) :] for name in client.scan_iter(match=f"{prefix}*", count=1000)}


def main(argv: list[str]) -> int:
    split = argv.index("--") if "--" in argv else len(argv)
    own, scheduler_args = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--wait-go", action="store_true")
    args = parser.parse_args(own)

    import actors  # noqa: F401  (imported before "ready", so that every process ticks at once on "go")
    from cron.scheduler import main as scheduler_main

    seed_due_users(args.users)
    if args.wait_go:
        print("ready", flush=True)
        sys.stdin.readline()
    return scheduler_main(scheduler_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
