"""A worker process's metrics reach Redis summed, in one round trip per interval however many SP-API
calls its threads make, and an idle process's no later than that interval."""

from __future__ import annotations

from datetime import UTC, datetime

from sp_api.base import Granularity

import services.platform.worker_metrics as worker_metrics
from models import SellerAccount
from services.platform.worker_metrics import WorkerMetrics, flush_all
from services.sync.amazon_time import metrics_window
from services.sync.catalog import order_metrics
from services.sync.spapi_client import account_clients
from tests.support import wait_for


def _served(metrics: WorkerMetrics) -> float:
    return metrics.read().get("spapi_requests", {}).get(("getOrderMetrics", "2xx"), 0)


def _metrics_calls(make_user, settings, user_id: str, times: int) -> None:
    """``times`` getOrderMetrics calls on a new account's clients, which are then closed."""
    make_user(user_id, [("US", f"{user_id}-us")])
    account = SellerAccount.objects.get(user_id=user_id)
    start, end = metrics_window(datetime.now(UTC).date())
    with account_clients(account, settings) as clients:
        for _ in range(times):
            order_metrics(clients, start, end, Granularity.DAY)


def _increments(redis_client) -> int:
    return redis_client.info("commandstats").get("cmdstat_hincrbyfloat", {}).get("calls", 0)


def test_calls_are_counted_together_in_one_increment_once_they_are_due(
    make_user, settings, redis_client, monkeypatch
):
    # Given a process whose metrics may wait an hour (nothing pending from earlier work)
    flush_all()
    monkeypatch.setattr(worker_metrics, "FLUSH_SECONDS", 3600.0)
    metrics = WorkerMetrics(redis_client, settings)

    # When an account's clients make three calls and close
    _metrics_calls(make_user, settings, "u-tally", 3)

    # Then none is counted in Redis yet
    assert _served(metrics) == 0

    # When the process sends what is due (as its flusher does once the oldest update is an hour old)
    before = _increments(redis_client)
    flush_all(0.0)

    # Then the three calls are counted, in one increment
    assert _served(metrics) == 3
    assert _increments(redis_client) - before == 1


def test_an_idle_process_sends_its_counts_within_the_interval(make_user, settings, redis_client, monkeypatch):
    # Given a process whose metrics may wait a third of a second
    monkeypatch.setattr(worker_metrics, "FLUSH_SECONDS", 0.3)
    metrics = WorkerMetrics(redis_client, settings)

    # When two calls are made, and the process records nothing more
    _metrics_calls(make_user, settings, "u-tally-idle", 2)

    # Then both are counted soon after, by the process's flusher
    wait_for(lambda: _served(metrics) == 2, timeout=5)
