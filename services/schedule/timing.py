"""Every duration the scheduler uses, derived from the tick period and SYNC_INTERVAL_MINUTES.

None is a fixed number of seconds on its own: a simulation that compresses time (bench.freshness
runs an hour a minute, with SYNC_INTERVAL_MINUTES=1 and a tick every 5 seconds) shortens the period
and the interval, and each duration below keeps its meaning with them. Fixed seconds stay only as
caps that hold the production values (an hourly SYNC_CRON) where they were.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import utcnow
from services.platform.settings import Settings

#: The longest skew margin (the value for an hourly SYNC_CRON): clock skew between hosts.
MAX_SKEW_MARGIN = timedelta(seconds=60)
#: Seconds: the longest derived leader lease (the value for an hourly SYNC_CRON).
MAX_LEASE_SECONDS = 30.0
#: Seconds: the shortest derived leader lease; its holder renews it every fifth of it, and a
#: shorter one would be lost to a pause of a busy host.
MIN_LEASE_SECONDS = 5.0
#: Seconds: the longest misfire grace (the value for an hourly SYNC_CRON).
MAX_MISFIRE_GRACE_SECONDS = 300


def scheduler_period(settings: Settings, now: datetime | None = None) -> timedelta:
    """Time between two scheduler ticks: SCHEDULER_EVERY_SECONDS, else SYNC_CRON's next gap."""
    if settings.scheduler_every_seconds:
        return timedelta(seconds=settings.scheduler_every_seconds)
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(settings.sync_cron, timezone=UTC)
    first = trigger.get_next_fire_time(None, now or utcnow())
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    return (second - first) if first and second else timedelta(minutes=settings.sync_interval_minutes)


def due_lead(settings: Settings, now: datetime | None = None) -> timedelta:
    """How long before its interval runs out a user is due: two scheduler periods, at most half the
    interval.

    Due only once its interval had run out, a user waited for the next tick and then for its job
    with data older than the interval (bench.freshness measured it); with the default hourly
    SYNC_CRON and a 60-minute interval, a user synced a little after one tick was not due at the
    next and was synced every two hours. A user whose data would expire before the next tick is
    due now; the second period leaves that tick's wave time to reach it.
    """
    interval = timedelta(minutes=settings.sync_interval_minutes)
    return min(2 * scheduler_period(settings, now), interval / 2)


def skew_margin(settings: Settings, now: datetime | None = None) -> timedelta:
    """How far before a tick's read a sync still counts as "since the read": 60 s (clock skew between
    the workers' hosts and the scheduler's), at most half the time a synced user stays not due.

    A user is due once its sync is older than the interval less the lead, so no due user was synced
    within that margin of the read; 60 s for an hourly SYNC_CRON as before, 25 s at an hour a minute.
    """
    not_due_for = timedelta(minutes=settings.sync_interval_minutes) - due_lead(settings, now)
    return min(MAX_SKEW_MARGIN, not_due_for / 2)


def lease_seconds(settings: Settings) -> float:
    """The leader lease: SCHEDULER_LEASE_SECONDS, else one tick period within [5 s, 30 s].

    A leader that dies is replaced within a lease, so a lease no longer than a period costs at most
    one tick; 30 s for an hourly SYNC_CRON as before, 5 s at an hour a minute (a fixed 30 s there
    would leave six ticks, half an interval, without a leader).
    """
    if settings.scheduler_lease_seconds:
        return settings.scheduler_lease_seconds
    period = scheduler_period(settings).total_seconds()
    return min(MAX_LEASE_SECONDS, max(MIN_LEASE_SECONDS, period))


def misfire_grace_seconds(settings: Settings) -> int:
    """How late a tick may still run: one tick period, at most 5 minutes (the hourly value), in
    whole seconds and at least one (APScheduler's ``misfire_grace_time``).

    Later than a period, the next tick is due anyway (and ``coalesce`` runs the two once).
    """
    return max(1, int(min(MAX_MISFIRE_GRACE_SECONDS, scheduler_period(settings).total_seconds())))
