"""Fencing: one execution of a job writes at a time (services.jobs.lease), and what must not go
backwards stays put in the store even when a late execution tries."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models import Analysis, JobStatus, Order, SellerAccount, User
from services.jobs.lease import LeaseKeeper, LeaseTiming
from services.jobs.records import JobRecords
from services.platform.errors import LeaseLost
from services.sync.processing import done_key, process_user_data
from tests.support import wait_for


@pytest.fixture
def fast_settings(settings):
    """A 400 ms heartbeat timeout: a 200 ms lease, renewed every 50 ms."""
    return replace(settings, broker_heartbeat_timeout_ms=400)


def test_the_lease_timings_are_fractions_of_the_heartbeat_timeout(settings):
    # Given production's heartbeat timeout and one scaled down 15 times
    production = LeaseTiming.of(replace(settings, broker_heartbeat_timeout_ms=60_000))
    scaled = LeaseTiming.of(replace(settings, broker_heartbeat_timeout_ms=4_000))

    # Then the lease is half the timeout, renewed four times a lease, in both
    assert (production.lease_ms, production.renew_ms, production.valid_ms) == (30_000, 7_500, 22_500)
    assert (scaled.lease_ms, scaled.renew_ms, scaled.valid_ms) == (2_000, 500, 1_500)


def test_a_live_lease_keeps_a_second_execution_out_and_tokens_only_grow(fast_settings, redis_client):
    # Given one execution holding job j1's lease
    keeper = LeaseKeeper(redis_client, fast_settings)
    first = keeper.acquire("j1")
    assert not isinstance(first, int)

    # When a second execution asks, while the first renews for longer than a lease
    other = LeaseKeeper(redis_client, fast_settings)
    time.sleep(0.5)
    refused = other.acquire("j1")

    # Then it is refused with the time left, and the first may still write
    assert isinstance(refused, int) and 0 < refused <= 200
    first.check()
    # And once released, the next execution gets a larger token
    keeper.release(first)
    second = other.acquire("j1")
    assert not isinstance(second, int) and second.token > first.token
    other.release(second)


def test_an_execution_whose_lease_was_taken_over_stops_at_its_next_check(fast_settings, redis_client):
    # Given an execution holding a lease, and a newer one that took the key over (the first was cut off)
    keeper = LeaseKeeper(redis_client, fast_settings)
    lease = keeper.acquire("j2")
    redis_client.set(keeper.lease_key("j2"), lease.token + 1, px=10_000)

    # When the first one's renewal runs
    wait_for(lambda: lease.lost is not None, timeout=2)

    # Then its next check raises, naming the job and its token, and its release leaves the new lease
    with pytest.raises(LeaseLost, match=f"job j2: the execution with fencing token {lease.token} lost"):
        lease.check()
    keeper.release(lease)
    assert int(redis_client.get(keeper.lease_key("j2"))) == lease.token + 1


def test_a_job_that_loses_its_lease_mid_call_writes_nothing_after_it(
    broker, fast_settings, redis_client, make_user, sandbox, producer
):
    # Given a user whose SP-API calls take 300 ms, a queued job, and an execution holding its lease
    make_user("u-fenced", [("US", "fenced-us")])
    sandbox.state.set_faults("fenced-us", [{"latencyMs": 300}])
    job_id = producer.enqueue_user("u-fenced", "manual").job_id
    records = JobRecords(fast_settings)
    keeper = LeaseKeeper(redis_client, fast_settings, clock=time.monotonic)
    lease = keeper.acquire(job_id)
    assert records.start(job_id, "u-fenced", fence=lease.token) is True

    # When its renewals stop reaching Redis (a partition) while it waits for Amazon's answer
    keeper.renew = lambda: None  # type: ignore[method-assign]
    with pytest.raises(LeaseLost):
        process_user_data("u-fenced", job_id=job_id, settings=fast_settings, records=records, lease=lease)

    # Then nothing of the job was written after its first answer: no orders, no analysis, no cache,
    # no watermark, no done set, no result on the record, no last sync
    assert Order.objects(user_id="u-fenced").count() == 0
    assert Analysis.objects(user_id="u-fenced").count() == 0
    account = SellerAccount.objects.get(user_id="u-fenced")
    assert account.orders_cursor is None and account.last_synced_at is None
    assert not redis_client.exists(done_key(fast_settings, job_id))
    record = JobStatus.objects.get(job_id=job_id)
    # (the accounts are planned on the record after the first looks, which the lost lease stopped)
    assert record.accounts == [] and record.status == "running"
    assert User.objects.get(user_id="u-fenced").last_synced_at is None


def test_the_record_takes_writes_only_from_the_newest_execution(broker, settings, producer):
    # Given a job started by an execution with token 5, then by one with token 7 (the first was cut off)
    records = JobRecords(settings)
    job_id = producer.enqueue_user(_user(), "manual").job_id
    assert records.start(job_id, "u-rec", fence=5) is True
    assert records.start(job_id, "u-rec", fence=7) is True

    # When the first one comes back and tries to start again or to finish
    restarted = records.start(job_id, "u-rec", fence=6)
    finished = records.finish(job_id, "completed", fence=5)

    # Then the record refuses both and keeps the newest execution's token and status
    assert restarted is False and finished is False
    record = JobStatus.objects.get(job_id=job_id)
    assert (record.fence, record.status) == (7, "running")
    # And the newest one finishes it
    assert records.finish(job_id, "completed", fence=7) is True


def test_a_late_execution_cannot_move_the_watermark_or_last_sync_back(settings, make_user):
    # Given a user whose watermark and last syncs a newer execution has already moved past now
    make_user("u-late", [("US", "late-us")])
    now = datetime.now(UTC).replace(microsecond=0)
    newer = {"orders_cursor": now - timedelta(minutes=1), "last_synced_at": now + timedelta(hours=1)}
    SellerAccount.objects(user_id="u-late").update_one(**{f"set__{k}": v for k, v in newer.items()})
    User.objects(user_id="u-late").update_one(set__last_synced_at=newer["last_synced_at"])

    # When an execution that woke up late syncs it (its watermark would be now - 2 min)
    process_user_data("u-late", settings=settings)

    # Then the watermark and both last syncs stay where the newer execution put them
    account = SellerAccount.objects.get(user_id="u-late")
    assert account.orders_cursor.replace(tzinfo=UTC) == newer["orders_cursor"]
    assert account.last_synced_at.replace(tzinfo=UTC) == newer["last_synced_at"]
    user = User.objects.get(user_id="u-late")
    assert user.last_synced_at.replace(tzinfo=UTC) == newer["last_synced_at"]


def _user() -> str:
    from services.operations.accounts import create_user

    create_user("u-rec")
    return "u-rec"
