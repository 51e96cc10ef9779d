"""One scheduler tick in this process: who is due, in what order, in what batches, and dedup."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cron.leader import LeaderLease
from cron.scheduler import SyncScheduler
from models import JobStatus, User
from services.platform.redis_pool import key
from services.schedule.due_users import due_user_batches
from tests.cron.cron_support import active_user_ids, queued_user_ids, seed_due_users, seeded_ids

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def scheduler(settings, producer, redis_client):
    def build(**changes) -> SyncScheduler:
        tuned = replace(settings, **changes) if changes else settings
        return SyncScheduler(tuned, producer, redis_client, clock=lambda: NOW)

    return build


def synced(user_id: str, ago: timedelta) -> None:
    User.objects(user_id=user_id).update_one(set__last_synced_at=NOW - ago)


def test_only_due_users_are_enqueued_oldest_first(make_user, producer, scheduler, settings, redis_client):
    # Given users that are due, and one of each kind that is not
    for user_id in ("never-synced", "synced-2h-ago", "recent", "queued", "running", "lost-release"):
        make_user(user_id, [("US", f"{user_id}-us")])
    synced("synced-2h-ago", timedelta(hours=2))
    synced("recent", timedelta(minutes=10))
    synced("lost-release", timedelta(hours=3))
    make_user("disabled", [("US", "disabled-us")], sync_enabled=False)
    make_user("no-accounts")
    make_user("auth-error", [("DE", "auth-error-de")])
    from models import SellerAccount

    SellerAccount.objects(user_id="auth-error").update(set__status="auth_error")
    producer.enqueue_user("queued")
    running = producer.enqueue_user("running")
    producer.records.start(running.job_id, "running")
    # a key whose job completed but was never released: the user is due, the key is taken over
    stale = producer.enqueue_user("lost-release")
    producer.records.start(stale.job_id, "lost-release")
    producer.records.finish(stale.job_id, "completed")
    redis_client.delete(key(settings, "sync"), key(settings, "sync.msgs"))
    producer.enqueue_user("queued")  # deduplicated: nothing new
    assert queued_user_ids(redis_client, settings) == []

    # When the scheduler ticks
    result = scheduler().tick()

    # Then exactly the due users are enqueued, never-synced first, then by the age of their sync
    assert queued_user_ids(redis_client, settings) == ["never-synced", "lost-release", "synced-2h-ago"]
    assert (result.due, result.enqueued, result.deduplicated) == (3, 3, 0)
    scheduled = JobStatus.objects(trigger="schedule")
    assert sorted(r.user_id for r in scheduled) == ["lost-release", "never-synced", "synced-2h-ago"]
    assert {r.status for r in scheduled} == {"queued"}
    assert producer.active.current("lost-release") not in (None, stale.job_id)


def test_a_second_tick_enqueues_nobody_twice(producer, scheduler, settings, redis_client):
    # Given 40 due users and a first tick
    expected = seed_due_users(40)
    first = scheduler().tick()

    # When a second scheduler ticks right after (its lease is a different one)
    other = scheduler()
    other.lease = LeaderLease(redis_client, key(settings, "scheduler", "other-leader"), 30)
    second = other.tick()

    # Then the first enqueued everyone and the second nobody: their keys make them not due
    assert first.enqueued == 40
    assert (second.due, second.enqueued) == (0, 0)
    assert queued_user_ids(redis_client, settings) == expected
    assert active_user_ids(redis_client, settings) == set(expected)


def test_two_leaders_reading_at_once_still_enqueue_each_user_once(producer, settings, redis_client):
    # Given two schedulers that read the same due users before either enqueues (two leaders for a moment)
    expected = seed_due_users(30)
    read_by_a = [u for batch in due_user_batches(settings, redis_client, now=NOW) for u in batch]
    read_by_b = [u for batch in due_user_batches(settings, redis_client, now=NOW) for u in batch]
    assert read_by_a == read_by_b == expected

    # When both enqueue what they read
    from_a = producer.enqueue_users(read_by_a, "schedule", known=True)
    from_b = producer.enqueue_users(read_by_b, "schedule", known=True)

    # Then the second finds every user's job: per-user dedup underneath the lease
    assert not any(e.deduplicated for e in from_a)
    assert all(e.deduplicated for e in from_b)
    assert [e.job_id for e in from_b] == [e.job_id for e in from_a]
    assert queued_user_ids(redis_client, settings) == expected
    assert JobStatus.objects.count() == 30


def test_a_follower_does_not_tick(producer, scheduler, settings, redis_client):
    # Given due users and another process holding the lease
    seed_due_users(5)
    leader = LeaderLease(redis_client, key(settings, "scheduler", "leader"), 30)
    assert leader.acquire_or_renew()

    # When this scheduler's tick comes
    result = scheduler().tick()

    # Then it enqueues nothing
    assert result is None
    assert queued_user_ids(redis_client, settings) == []


def test_a_big_tick_runs_in_batches_of_the_configured_size(producer, scheduler, settings, redis_client):
    # Given many due users: 20 batches of the configured size (the cursor reads batches of that size too,
    # so 20 of 100 exercise the batching as 20 of 1,000 did, at a tenth of the store's work)
    count, batch_size = 2_000, 100
    expected = seed_due_users(count)
    calls: list[int] = []
    enqueue_users = producer.enqueue_users

    def spy(user_ids, *args, **kwargs):
        calls.append(len(user_ids))
        return enqueue_users(user_ids, *args, **kwargs)

    producer.enqueue_users = spy

    # When one tick runs with that batch size
    result = scheduler(scheduler_batch_size=batch_size).tick()

    # Then every user was enqueued once, through batches that never exceeded the batch size
    assert result.batches == [batch_size] * 20
    assert calls == [batch_size] * 20
    assert (result.due, result.enqueued, result.deduplicated) == (count, count, 0)
    assert queued_user_ids(redis_client, settings) == expected


def test_dry_run_prints_the_due_users_and_enqueues_nothing(producer, scheduler, settings, redis_client):
    # Given three due users
    seed_due_users(3)
    out = io.StringIO()

    # When the tick is a dry run
    result = scheduler().dry_run(out)

    # Then it prints them, oldest first, and enqueues nobody
    summary = "Dry run: 3 users due, in 1 batches; nothing enqueued."
    assert out.getvalue().splitlines() == [*seeded_ids(3), summary]
    assert result.due == 3
    assert queued_user_ids(redis_client, settings) == []
    assert active_user_ids(redis_client, settings) == set()


#: An hour a minute, as bench.freshness runs it: a 1-minute interval and a tick every 5 seconds.
SCALED = dict(sync_interval_minutes=1, scheduler_every_seconds=5.0)


@pytest.mark.parametrize("time_scale", [{}, SCALED], ids=["real-time", "an-hour-a-minute"])
def test_a_user_whose_job_ends_during_the_tick_is_not_enqueued_again(
    make_user, producer, settings, redis_client, time_scale
):
    # Given a due user whose job is running when the tick reads the users
    settings = replace(settings, **time_scale)
    make_user("racing", [("US", "racing-us")])
    make_user("waiting", [("US", "waiting-us")])
    synced("racing", timedelta(hours=3))
    synced("waiting", timedelta(hours=2))
    batches = due_user_batches(settings, redis_client, batch_size=10, now=NOW)
    read = next(batches)
    assert read == ["racing", "waiting"]

    # When its job ends between that read and the claim: its sync recorded, then its user freed
    User.objects(user_id="racing").update_one(set__last_synced_at=NOW + timedelta(seconds=1))
    enqueued = producer.enqueue_users(
        read, "schedule", known=True, still_due=lambda ids: tick_still_due(settings, ids)
    )

    # Then only the other user is enqueued, and the racing user holds no claim
    assert [e.user_id for e in enqueued] == ["waiting"]
    assert queued_user_ids(redis_client, settings) == ["waiting"]
    assert active_user_ids(redis_client, settings) == {"waiting"}


def tick_still_due(settings, user_ids):
    from services.schedule.due_users import still_due

    return still_due(settings, user_ids, read_at=NOW)


def test_a_scaled_tick_enqueues_every_user_whose_data_expires_before_the_next_ticks(
    make_user, producer, scheduler, settings, redis_client
):
    # Given an hour a minute, a tick every 5 simulated minutes (a lead of 10), and users whose data
    # is 30, 52, 58 and 75 simulated minutes old
    ages = {"fresh": 30, "due-soon": 52, "due-sooner": 58, "stale": 75}
    for user_id, seconds in ages.items():
        make_user(user_id, [("US", f"{user_id}-us")])
        synced(user_id, timedelta(seconds=seconds))

    # When the scheduler ticks
    result = scheduler(**SCALED).tick()

    # Then every user whose data expires within the lead is enqueued, oldest first; the fresh one is not
    assert queued_user_ids(redis_client, settings) == ["stale", "due-sooner", "due-soon"]
    assert (result.due, result.enqueued, result.deduplicated) == (3, 3, 0)
