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


def test_an_accounts_calls_are_counted_together_when_its_clients_close(make_user, settings, redis_client):
    # Given an account's SP-API clients
    make_user("u-tally", [("US", "tally-us")])
    account = SellerAccount.objects.get(user_id="u-tally")
    metrics = WorkerMetrics(redis_client, settings)

    # When three calls are made, then the clients are closed
    with account_clients(account, settings) as clients:
        _metrics_calls(clients, 3)
        during = _served(metrics)

    # Then the calls were counted once the clients closed, all three
    assert during == 0
    assert _served(metrics) == 3


def test_a_long_fetch_sends_its_counts_once_they_are_old_enough(
    make_user, settings, redis_client, monkeypatch
):
    # Given an account's SP-API clients whose counts may wait no time at all
    monkeypatch.setattr(spapi_client, "METRICS_FLUSH_SECONDS", 0.0)
    make_user("u-tally-long", [("US", "tally-long-us")])
    account = SellerAccount.objects.get(user_id="u-tally-long")
    metrics = WorkerMetrics(redis_client, settings)

    # When two calls are made, the clients still open
    with account_clients(account, settings) as clients:
        _metrics_calls(clients, 2)
        during = _served(metrics)

    # Then both were counted before the clients closed
    assert during == 2
