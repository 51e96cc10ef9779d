"""Read-side queries over job-status records and users: what the REST API, the dashboard and /metrics show.

Every query takes plain, already-validated values (strings, ints) and passes them to MongoEngine as
equality or range filters, so no caller-supplied value can become a MongoDB operator.

The queue-stats snapshot (:class:`StatsSnapshot`) is shared by every web process through Redis: the
counts of JobProducer.get_queue_stats cost about ten MongoDB count queries, so they are computed at most
once per ``max_age`` seconds per deployment (by whichever process finds them stale) and read with one
Redis GET otherwise, as Flower and Bull Board poll theirs. Counts may lag the records by ``max_age``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis

from models import JobStatus, User, utcnow
from services.platform.redis_pool import key
from services.platform.settings import Settings

logger = logging.getLogger(__name__)

#: How many finished jobs the duration histogram of /metrics is built from (the newest ones).
DURATION_SAMPLE = 1000
#: Hours of the completed/failed per-hour series.
HOURLY_WINDOW = 24


class JobQueries:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock

    def get_user(self, user_id: str) -> User | None:
        return User.objects(user_id=user_id).first()

    def missing_users(self, user_ids: list[str]) -> list[str]:
        """The ids of ``user_ids`` that name no user, in the order given."""
        found = set(User.objects(user_id__in=user_ids).scalar("user_id"))
        return [u for u in user_ids if u not in found]

    def get_job(self, job_id: str) -> JobStatus | None:
        return JobStatus.objects(job_id=job_id).first()

    def jobs_for_user(self, user_id: str, limit: int) -> list[JobStatus]:
        """The user's newest ``limit`` jobs, newest first (index ``user_id, -queued_at``)."""
        return list(JobStatus.objects(user_id=user_id).order_by("-queued_at").limit(limit))

    def recent(self, limit: int, status: str | None = None) -> list[JobStatus]:
        """The newest ``limit`` jobs, optionally of one status, newest first."""
        if status is None:
            return list(JobStatus.objects.order_by("-queued_at").limit(limit))
        return list(JobStatus.objects(status=status).order_by("-updated_at").limit(limit))

    def failed(self, limit: int) -> list[JobStatus]:
        """The newest ``limit`` failed jobs, the latest failure first."""
        return self.recent(limit, "failed")

    def hourly(self, hours: int = HOURLY_WINDOW) -> list[dict[str, Any]]:
        """Completed and failed jobs per hour over the last ``hours`` hours, oldest hour first.

        One indexed count per hour and status (``status, -updated_at``): cheap at any volume.
        A finished job's ``updated_at`` is the time it finished.
        """
        now = self.clock()
        first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
        series = []
        for index in range(hours):
            start = first + timedelta(hours=index)
            end = start + timedelta(hours=1)
            row: dict[str, Any] = {"hour": start}
            for status in ("completed", "failed"):
                row[status] = JobStatus.objects(
                    status=status, updated_at__gte=start, updated_at__lt=end
                ).count()
            series.append(row)
        return series

    def freshness(self) -> dict[str, Any]:
        """The share of sync-enabled users whose last sync is within SYNC_INTERVAL_MINUTES.

        With no sync-enabled user the ratio is 1.0: nobody is stale.
        """
        interval = self.settings.sync_interval_minutes
        cutoff = self.clock() - timedelta(minutes=interval)
        enabled = User.objects(sync_enabled=True).count()
        fresh = User.objects(sync_enabled=True, last_synced_at__gte=cutoff).count()
        return {
            "syncEnabledUsers": enabled,
            "freshUsers": fresh,
            "ratio": round(fresh / enabled, 4) if enabled else 1.0,
            "intervalMinutes": interval,
        }

    def recent_durations_ms(self, limit: int = DURATION_SAMPLE) -> list[int]:
        """Durations of the newest ``limit`` completed or failed jobs (their last attempt)."""
        query = JobStatus.objects(status__in=("completed", "failed"), duration_ms__ne=None)
        return list(query.order_by("-updated_at").limit(limit).scalar("duration_ms"))


class StatsSnapshot:
    """The queue stats, computed at most once per ``max_age`` seconds and shared through Redis.

    A process that finds the snapshot stale takes a short lock and recomputes it; the others keep
    serving the previous snapshot meanwhile. ``max_age`` 0 computes on every call (tests).
    """

    #: Seconds a snapshot is kept at all; past this a reader computes synchronously.
    KEEP_SECONDS = 300
    #: Milliseconds a recompute may hold the lock before another process may try.
    LOCK_MS = 10_000

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        compute: Callable[[], dict[str, Any]],
        *,
        max_age: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.compute = compute
        self.max_age = max_age
        self.clock = clock
        self.key = key(settings, "web", "queue-stats")
        self.lock_key = key(settings, "web", "queue-stats", "lock")

    def get(self) -> dict[str, Any]:
        return json.loads(self.get_json())

    def get_json(self) -> bytes:
        """The stats as JSON bytes, served as stored (no decode and re-encode per request)."""
        if self.max_age <= 0:
            return self._encode(self.compute())
        raw = self.client.get(self.key)
        if raw is None:
            return self._refresh()
        at, _, body = raw.partition(b"\n")
        if self.clock() - float(at) <= self.max_age:
            return body
        if not self.client.set(self.lock_key, "1", nx=True, px=self.LOCK_MS):
            return body  # another process is recomputing it
        try:
            return self._refresh()
        finally:
            self.client.delete(self.lock_key)

    def _refresh(self) -> bytes:
        body = self._encode(self.compute())
        self.client.set(self.key, f"{self.clock()!r}\n".encode() + body, ex=self.KEEP_SECONDS)
        return body

    @staticmethod
    def _encode(stats: dict[str, Any]) -> bytes:
        return json.dumps(stats, separators=(",", ":")).encode()
