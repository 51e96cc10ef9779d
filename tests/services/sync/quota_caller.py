"""``python -m tests.services.sync.quota_caller SELLER CALLS START``: one "worker process" of the shared-quota
test. Waits until the epoch second START, makes CALLS getOrders calls for SELLER through the real
client and the Redis quota, and prints one JSON line: {"calls", "done_at"}."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from services.platform.settings import Settings, configure
from services.sync.amazon_time import amazon_time
from services.sync.spapi_client import account_clients


class _Account:
    def __init__(self, refresh_token: str, country: str):
        self.refresh_token, self.country = refresh_token, country


def main() -> None:
    seller, calls, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    settings = configure(Settings.from_env(dotenv_path=None))
    from services.platform.secrets import encrypt_token

    account = _Account(encrypt_token(f"Atzr|sandbox-{seller}", settings), "US")
    now = datetime.now(UTC)
    filters = {
        "LastUpdatedAfter": amazon_time(now - timedelta(days=1)),
        "LastUpdatedBefore": amazon_time(now - timedelta(minutes=3)),
        "MarketplaceIds": ["ATVPDKIKX0DER"],
    }
    with account_clients(account, settings) as clients:
        clients.call("getOrders", "orders", "get_orders", expect="Orders", **filters)  # warm up: LWA
        time.sleep(max(0.0, start - time.time()))
        for _ in range(calls - 1):
            clients.call("getOrders", "orders", "get_orders", expect="Orders", **filters)
        print(json.dumps({"calls": clients.calls["getOrders"], "done_at": time.time()}), flush=True)


if __name__ == "__main__":
    main()
