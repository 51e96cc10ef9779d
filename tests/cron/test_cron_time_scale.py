"""The scheduler's durations keep their meaning when a simulation compresses time (an hour a minute)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from cron.scheduler import SyncScheduler, build_trigger

#: The production default (an hourly SYNC_CRON, a 60-minute interval) and bench.freshness's scale.
HOURLY = dict(sync_cron="0 * * * *", scheduler_every_seconds=None, sync_interval_minutes=60)
AN_HOUR_A_MINUTE = dict(scheduler_every_seconds=5.0, sync_interval_minutes=1)


@pytest.fixture
def scheduled(settings, redis_client):
    """The scheduler's jobs as its process registers them (APScheduler not started), for settings."""

    def build(**changes):
        tuned = replace(settings, scheduler_lease_seconds=None, **changes)
        sync = SyncScheduler(tuned, producer=None, client=redis_client)
        scheduler = BackgroundScheduler()
        sync.add_jobs(scheduler, build_trigger(tuned))
        return sync, {job.id: job for job in scheduler.get_jobs()}

    return build


@pytest.mark.parametrize(
    ("time_scale", "lease", "grace", "lead", "skew"),
    [
        (HOURLY, 30.0, 300, timedelta(minutes=30), timedelta(seconds=60)),
        (AN_HOUR_A_MINUTE, 5.0, 5, timedelta(seconds=10), timedelta(seconds=25)),
    ],
    ids=["hourly", "an-hour-a-minute"],
)
def test_the_lease_grace_lead_and_skew_margin_follow_the_tick_period(
    scheduled, time_scale, lease, grace, lead, skew
):
    # Given the scheduler's settings in real time and at an hour a minute (a tick every 5 s)
    from services.schedule.timing import due_lead, skew_margin

    # When its jobs are registered
    sync, jobs = scheduled(**time_scale)

    # Then a dead leader costs at most a tick, a late tick runs within one period, the lead is two
    # periods (capped at half the interval), and a sync counts as "since the read" of a tick from at
    # most half the time a synced user stays not due (capped at 60 s of clock skew)
    assert sync.lease.lease_seconds == lease
    assert jobs["lease"].trigger.interval == timedelta(seconds=lease / 5)
    assert jobs["sync"].misfire_grace_time == grace
    assert due_lead(sync.settings) == lead
    assert skew_margin(sync.settings) == skew


def test_an_explicit_lease_is_kept(scheduled):
    # Given SCHEDULER_LEASE_SECONDS set, at an hour a minute
    # When the scheduler is built
    sync, _ = scheduled(**AN_HOUR_A_MINUTE)
    explicit = SyncScheduler(replace(sync.settings, scheduler_lease_seconds=12.0), None, sync.redis)

    # Then the operator's value wins over the derived one
    assert explicit.lease.lease_seconds == 12.0
