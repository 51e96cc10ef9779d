"""A long wait for a quota token frees the worker thread; the job comes back and resumes."""

from __future__ import annotations

import math
from datetime import UTC

import dramatiq
import pytest

from models import JobStatus, Order, SellerAccount
from services.platform.settings import configure, get_settings
from services.sync.quotas import QuotaBuckets
from tests.services.helpers import first_sync_orders
from tests.support import finished, wait_for


@pytest.fixture
def slow_quota(settings):
    """Our buckets refill at 40x Amazon's speed (the sandbox at 1000x, so it never throttles us): a
    getOrders token every 1.5 s, while a thread may sleep 0.1 s for one. Every page after the burst
    is then a "long" wait, as every page after the burst is at Amazon (one token a minute, 5 s).
    (At 0.6 s a token, a loaded machine took that long to store a page, so the next wait was short
    and the job kept the thread: the other job then finished last.)"""
    configure(settings, sp_api_quota_time_scale=40.0, sp_api_quota_max_wait_seconds=0.1)
    yield
    configure(settings)


def test_a_long_quota_wait_frees_the_worker_and_the_job_resumes_without_spending_retries(
    broker, make_user, sandbox, settings, slow_quota, redis_client, producer
):
    # Given a seller with 8 pages of orders whose getOrders burst is spent already (by another
    # process of ours, say), so that every page waits for a token however fast pages are stored, and a
    # worker with a single thread
    sandbox.state.set_profile("patient-us", {"orders": 800, "skus": 5, "days": 29})
    make_user("u-patient", [("US", "patient-us")])
    spend_the_burst("Atzr|sandbox-patient-us", redis_client)
    make_user("u-other", [("DE", "other-de")])
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=20)
    worker.start()
    try:
        # When its job runs, and another user's job is enqueued behind it
        patient = producer.enqueue_user("u-patient")
        wait_for(lambda: JobStatus.objects.get(job_id=patient.job_id).quota_waits >= 1, timeout=30)
        other = producer.enqueue_user("u-other")
        seen = set()

        def done() -> JobStatus | None:
            record = JobStatus.objects.get(job_id=patient.job_id)
            seen.add((record.status, record.error.type if record.error else None))
            return finished(patient.job_id)

        record = wait_for(done, timeout=60, interval=0.005)
        other_record = wait_for(lambda: finished(other.job_id), timeout=30)
    finally:
        worker.stop()

    # Then the other user's job ran on the single thread while the first one waited for its quota
    assert other_record.status == "completed"
    assert other_record.completed_at < record.completed_at
    # And the waiting job was shown as retrying with the reason, not failed
    assert ("retrying", "WaitingForQuota") in seen
    # And it came back many more times than JOB_MAX_RETRIES allows, yet completed: no retry was spent,
    # and the record counts the waits apart from the attempts
    assert record.status == "completed", record.error
    assert record.quota_waits > settings.job_max_retries + 1
    assert record.attempts == 1
    assert record.error is None
    # And it resumed where it stopped: every order stored, no getOrders page asked for twice, no 429
    stored = {o.amazon_order_id for o in Order.objects(user_id="u-patient").only("amazon_order_id")}
    cursor = SellerAccount.objects.get(user_id="u-patient").orders_cursor.replace(tzinfo=UTC)
    assert stored == first_sync_orders(sandbox, "patient-us", cursor)
    assert record.accounts[0].orders_fetched == len(stored)
    stats = sandbox.state.get_stats()["patient-us"]["getOrders"]
    assert stats == {"served": math.ceil(len(stored) / 100), "throttled": 0, "failed": 0}


def spend_the_burst(refresh_token: str, redis_client) -> None:
    """Take every getOrders token of the seller's bucket now, as a busy seller's calls would."""
    buckets = QuotaBuckets(redis_client, get_settings())
    bucket = buckets.bucket(refresh_token, "na", "getOrders")
    while buckets.reserve(bucket, "getOrders", max_wait=0).taken:
        pass
