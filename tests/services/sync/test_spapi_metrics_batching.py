"""An account's SP-API metrics reach Redis summed, in one round trip, and never later than a bound."""

from __future__ import annotations

from datetime import UTC, datetime

from sp_api.base import Granularity

import services.sync.spapi_client as spapi_client
from models import SellerAccount
from services.platform.worker_metrics import WorkerMetrics
from services.sync.amazon_time import metrics_window
from services.sync.catalog import order_metrics
from services.sync.spapi_client import account_clients


def _metrics_calls(clients, times: int) -> None:
    start, end = metrics_window(datetime.now(UTC).date())
    for _ in range(times):
        order_metrics(clients, start, end, Granularity.DAY)


def _served(metrics: WorkerMetrics) -> float:
    return metrics.read().get("spapi_requests", {}).get(("getOrderMetrics", "2xx"), 0)


def _counted_during_and_after(
    make_user, settings, redis_client, user_id: str, calls: int
) -> tuple[float, float]:
    """Make ``calls`` getOrderMetrics calls on a new account's clients: the 2xx count /metrics saw
    while the clients were open, and after they closed."""
    make_user(user_id, [("US", f"{user_id}-us")])
    account = SellerAccount.objects.get(user_id=user_id)
    metrics = WorkerMetrics(redis_client, settings)
    with account_clients(account, settings) as clients:
        _metrics_calls(clients, calls)
        during = _served(metrics)
    return during, _served(metrics)


def test_an_accounts_calls_are_counted_together_when_its_clients_close(make_user, settings, redis_client):
    # Given an account's SP-API clients
    # When three calls are made, then the clients are closed
    during, after = _counted_during_and_after(make_user, settings, redis_client, "u-tally", 3)

    # Then the calls were counted once the clients closed, all three
    assert (during, after) == (0, 3)


def test_a_long_fetch_sends_its_counts_once_they_are_old_enough(
    make_user, settings, redis_client, monkeypatch
):
    # Given an account's SP-API clients whose counts may wait no time at all
    monkeypatch.setattr(spapi_client, "METRICS_FLUSH_SECONDS", 0.0)

    # When two calls are made
    during, _ = _counted_during_and_after(make_user, settings, redis_client, "u-tally-long", 2)

    # Then both were counted before the clients closed
    assert during == 2
