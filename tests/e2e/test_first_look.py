"""A first sync's first look, on the real topology (the ``dramatiq`` CLI worker in a subprocess).

The seller has 2,000 orders (20 pages) and every getOrders page takes 400 ms, so the orders backfill
lasts seconds while the first look (getOrderMetrics and the inventory) is cached at once.
"""

from __future__ import annotations

import json

import pytest

from models import Analysis, JobStatus
from services.operations.demo import sandbox_token
from services.operations.onboarding import connect_and_sync
from services.sync.cache import analysis_key
from services.sync.first_look import PENDING_KPIS
from tests.support import CliWorker, wait_for

pytestmark = pytest.mark.e2e

PAGE_LATENCY_MS = 400


@pytest.fixture
def big_seller(sandbox, make_user, broker):
    """A user whose US seller has 2,000 orders over 30 days and answers each getOrders page slowly."""
    sandbox.state.set_profile("big-us", {"orders": 2000, "skus": 6})
    sandbox.state.set_faults("big-us", [{"operation": "getOrders", "latencyMs": PAGE_LATENCY_MS}])
    make_user("u-big")
    return "u-big"


def connect(user_id: str, settings, producer):
    """Connect the user's US account, as the REST route and ``sellersync accounts add`` do."""
    return connect_and_sync(
        producer, user_id, "US", sandbox_token("big-us"), seller_id="big-us", settings=settings
    )


def served(sandbox, operation: str) -> int:
    return sandbox.state.get_stats().get("big-us", {}).get(operation, {}).get("served", 0)


def cached(redis_client, settings, user_id: str) -> dict | None:
    raw = redis_client.get(analysis_key(settings, user_id, "US"))
    return json.loads(raw) if raw else None


def test_a_first_sync_caches_a_first_look_before_its_backfill_and_the_full_analysis_replaces_it(
    big_seller, settings, redis_client, sandbox, tmp_path, producer
):
    # Given a worker, and a seller who connects their account (the job is enqueued by connecting)
    with CliWorker(settings, tmp_path / "worker.log") as worker:
        connected = connect_and_sync(
            producer,
            big_seller,
            "US",
            sandbox_token("big-us"),
            seller_id="big-us",
            settings=settings,
        )
        job_id = connected.sync.job_id

        # When the first look is cached
        first = wait_for(lambda: cached(redis_client, settings, big_seller), timeout=30)
        # (the record notes the first look right after the cache has it, with the account plan)
        wait_for(lambda: _first_look_at(job_id), timeout=10)
        running = JobStatus.objects.get(job_id=job_id)

        # Then it came before the backfill ended: incomplete, its pending KPIs null, the rest there
        assert first["complete"] is False and first["pending"] == list(PENDING_KPIS)
        assert first["kpis"]["cancellation_rate_30d"] is None
        assert first["kpis"]["inventory"]["low_stock"] is None
        assert first["kpis"]["orders_30d"] > 0 and first["kpis"]["revenue_30d"] != "0.00"
        assert first["kpis"]["inventory"]["skus"] == 6 and len(first["kpis"]["daily"]) == 30
        assert running.status == "running" and running.trigger == "onboarding" and running.lane == "priority"
        assert running.accounts[0].first_look_at is not None and running.accounts[0].analysed_at is None

        # And when the job ends, the full analysis has replaced the first look
        record = wait_for(lambda: JobStatus.objects(job_id=job_id, status="completed").first(), timeout=60)
        log = worker.log()
    full = cached(redis_client, settings, big_seller)
    assert full["complete"] is True and full["pending"] == [], log
    assert full["kpis"]["cancellation_rate_30d"] is not None
    assert isinstance(full["kpis"]["inventory"]["low_stock"], list)
    assert full["kpis"]["orders_30d"] == first["kpis"]["orders_30d"]  # the same daily sums
    assert Analysis.objects.get(user_id=big_seller).complete is True
    # And the record says when each was cached; the quick calls were made once
    account = record.accounts[0]
    assert account.status == "completed" and account.orders_fetched >= 2000
    assert account.first_look_at < account.analysed_at
    assert sandbox.state.get_stats()["big-us"]["getInventorySummaries"]["served"] == 1


def test_a_job_killed_after_its_first_look_resumes_the_backfill_and_keeps_the_first_look(
    big_seller, settings, redis_client, sandbox, tmp_path, producer
):
    # Given a first sync whose first look is cached and whose backfill is half-way
    first_worker = CliWorker(settings, tmp_path / "first.log", threads=1)
    try:
        enqueued = connect(big_seller, settings, producer).sync
        wait_for(lambda: cached(redis_client, settings, big_seller), timeout=30)
        wait_for(lambda: served(sandbox, "getOrders") >= 5, timeout=30)
        first_look = wait_for(lambda: _first_look_at(enqueued.job_id))

        # When its worker dies (SIGKILL), and another worker gets the message once the heartbeat is stale
        first_worker.kill()
    finally:
        first_worker.stop()
    before = sandbox.state.get_stats()["big-us"]
    assert cached(redis_client, settings, big_seller)["complete"] is False
    fast_redelivery = {"BROKER_HEARTBEAT_TIMEOUT_MS": "1500", "BROKER_MAINTENANCE_CHANCE": "1000000"}
    with CliWorker(settings, tmp_path / "second.log", threads=1, **fast_redelivery):
        record = wait_for(
            lambda: JobStatus.objects(job_id=enqueued.job_id, status="completed").first(), timeout=90
        )

    # Then the backfill went on from where it was: the quick calls were not made again, and the
    # listing resumed after its last stored page rather than from the start
    after = sandbox.state.get_stats()["big-us"]
    assert after["getInventorySummaries"]["served"] == before["getInventorySummaries"]["served"] == 1
    assert after["getOrders"]["served"] - before["getOrders"]["served"] <= 21 - 5 + 1
    # And the first look was kept: the record still carries its time, and the full analysis replaced it
    account = record.accounts[0]
    assert record.attempts == 2
    assert account.first_look_at == first_look and account.analysed_at > first_look
    assert account.orders_fetched >= 2000
    assert cached(redis_client, settings, big_seller)["complete"] is True


def _first_look_at(job_id: str):
    """When the record says the job's first account had its first look (None: not yet, or no plan yet)."""
    accounts = JobStatus.objects.get(job_id=job_id).accounts
    return accounts[0].first_look_at if accounts else None
