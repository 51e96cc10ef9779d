"""What the scheduler leaves in Redis for operators: its leader lease and its last tick.

``<ns>:scheduler:leader`` is the lease (cron.leader); ``<ns>:scheduler:last-tick`` is a small JSON
record the leader writes after every tick, read by ``sellersync doctor`` and ``/metrics``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import redis
from apscheduler.triggers.cron import CronTrigger

from services.platform.redis_pool import key
from services.platform.settings import Settings

#: Seconds the last-tick record is kept (a week: "the last tick was 3 days ago" is worth saying).
KEEP_SECONDS = 7 * 86_400


def lease_key(settings: Settings) -> str:
    return key(settings, "scheduler", "leader")


def tick_key(settings: Settings) -> str:
    return key(settings, "scheduler", "last-tick")


def record_tick(settings: Settings, client: redis.Redis, at: datetime, **figures: Any) -> None:
    """Store when the leader ticked and what it did (due, enqueued, deduplicated, complete…)."""
    client.set(tick_key(settings), json.dumps({"at": at.isoformat(), **figures}), ex=KEEP_SECONDS)


def last_tick(settings: Settings, client: redis.Redis) -> dict[str, Any] | None:
    raw = client.get(tick_key(settings))
    return json.loads(raw) if raw else None


def last_tick_at(settings: Settings, client: redis.Redis) -> datetime | None:
    """When the leader last ticked (None: not within KEEP_SECONDS)."""
    tick = last_tick(settings, client)
    return datetime.fromisoformat(tick["at"]) if tick else None


def period_seconds(settings: Settings, now: datetime | None = None) -> float:
    """Seconds between two ticks: SCHEDULER_EVERY_SECONDS, else the gap between SYNC_CRON's next two
    fire times (for a cron with uneven gaps, the next one: an alert on two periods is then approximate)."""
    if settings.scheduler_every_seconds:
        return settings.scheduler_every_seconds
    trigger = CronTrigger.from_crontab(settings.sync_cron, timezone=UTC)
    first = trigger.get_next_fire_time(None, now or datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first)
    return (second - first).total_seconds()


def lease_holder(settings: Settings, client: redis.Redis) -> tuple[str | None, int]:
    """The lease holder's token (``host:pid:random``) and the milliseconds left on its lease."""
    pipe = client.pipeline(transaction=False)
    pipe.get(lease_key(settings))
    pipe.pttl(lease_key(settings))
    holder, ttl = pipe.execute()
    return (holder.decode() if holder else None), max(int(ttl or 0), 0)
