"""The job producer (the seed's ``producer.js``): enqueue, dedup, cancel, retry and queue statistics.

One job per user at a time (services.active_jobs): a second enqueue of a user returns the user's
queued or running job instead of a new one.

The producer sends messages through a :class:`JobQueue`: the actors package provides the Dramatiq one
and registers it with :func:`configure_queue`, so this module stays free of Dramatiq.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import redis

from models import JobStatus, User
from models.jobs import ACTIVE_STATUSES, FINISHED_STATUSES
from services.active_jobs import ActiveJobs
from services.errors import JobStateError, UnknownUserError
from services.job_status import JobRecords, utcnow
from services.redis_pool import get_redis, key
from services.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: The Dramatiq queue that sync jobs travel on.
QUEUE_NAME = "sync"


class JobQueue(Protocol):
    """Where job messages go (a Dramatiq actor's queue in production)."""

    def new_job_id(self) -> str: ...

    def send(self, job_id: str, user_id: str, trigger: str) -> None: ...

    def send_many(self, jobs: list[tuple[str, str, str]]) -> None: ...


@dataclass(frozen=True)
class Enqueued:
    user_id: str
    job_id: str
    #: True when the user already had a queued or running job, returned instead of a new one.
    deduplicated: bool


class JobProducer:
    def __init__(
        self,
        queue: JobQueue,
        *,
        settings: Settings | None = None,
        client: redis.Redis | None = None,
        records: JobRecords | None = None,
    ) -> None:
        self.queue = queue
        self.settings = settings or get_settings()
        self.redis = client or get_redis(self.settings)
        self.records = records or JobRecords(self.settings)
        self.active = ActiveJobs(self.settings, self.redis)

    # -- enqueue ------------------------------------------------------------------------------------
    def enqueue_user(self, user_id: str, trigger: str = "manual", *, retry_of: str | None = None) -> Enqueued:
        """Enqueue one user's sync, or return the user's queued or running job.

        Raises UnknownUserError (nothing enqueued) for an id that names no user.
        """
        if not isinstance(user_id, str) or User.objects(user_id=user_id).only("user_id").first() is None:
            raise UnknownUserError(f"no user with id {user_id!r}")
        job_id = self.queue.new_job_id()
        for _ in range(3):
            if self.active.claim(user_id, job_id):
                return self._create_and_send(job_id, user_id, trigger, retry_of)
            current_id = self.active.current(user_id)
            if current_id is None:
                continue
            record = JobStatus.objects(job_id=current_id).only("status").first()
            # A record not yet written belongs to an enqueue in flight: that job is the user's job.
            if record is None or record.status in ACTIVE_STATUSES:
                return Enqueued(user_id, current_id, deduplicated=True)
            # The key outlived its job (a lost release): take it over atomically.
            if self.active.take_over(user_id, current_id, job_id):
                return self._create_and_send(job_id, user_id, trigger, retry_of)
        raise JobStateError(f"could not enqueue user {user_id!r}: its active-job key keeps changing")

    def enqueue_users(self, user_ids: Iterable[str], trigger: str = "schedule") -> list[Enqueued]:
        """Enqueue many users; unknown ids are skipped with a warning."""
        results = []
        for user_id in user_ids:
            try:
                results.append(self.enqueue_user(user_id, trigger))
            except UnknownUserError:
                logger.warning("Skipped unknown user %r.", user_id)
        return results

    def _create_and_send(self, job_id: str, user_id: str, trigger: str, retry_of: str | None) -> Enqueued:
        self.records.create_queued(job_id, user_id, trigger, retry_of=retry_of)
        try:
            self.queue.send(job_id, user_id, trigger)
        except Exception as exc:
            # Nothing was queued: say so on the record and free the user for the next enqueue.
            self.records.finish_unsent(job_id, exc)
            self.release(user_id, job_id)
            raise
        logger.info("Enqueued job %s for user %s (%s).", job_id, user_id, trigger)
        return Enqueued(user_id, job_id, deduplicated=False)

    def release(self, user_id: str, job_id: str) -> bool:
        """Free the user for its next job, if ``job_id`` is still its active job."""
        return self.active.release(user_id, job_id)

    # -- cancel and retry ---------------------------------------------------------------------------
    def remove_job(self, job_id: str) -> JobStatus:
        """Cancel a job: a queued one never runs, a running one stops before its next account.

        Raises UnknownJobError, or JobStateError for a finished job.
        """
        record = self.records.cancel(job_id)
        if record.status == "cancelled":
            self.release(record.user_id, job_id)
        logger.info("Cancelled job %s (%s).", job_id, record.status)
        return record

    def retry_job(self, job_id: str) -> Enqueued:
        """Enqueue a new job for the user of a failed or cancelled job."""
        record = self.records.get(job_id)
        if record.status not in ("failed", "cancelled"):
            raise JobStateError(
                f"job {job_id} is {record.status}; only failed or cancelled jobs can be retried"
            )
        return self.enqueue_user(record.user_id, "retry", retry_of=job_id)

    # -- statistics ---------------------------------------------------------------------------------
    def get_queue_stats(self) -> dict[str, Any]:
        """Counts by state, throughput of the last hour, the oldest waiting job and live workers."""
        now = utcnow()
        hour_ago = now - timedelta(hours=1)
        counts = {
            "waiting": JobStatus.objects(status="queued").count(),
            "delayed": JobStatus.objects(status="retrying").count(),
            "active": JobStatus.objects(status="running").count(),
        }
        for status in FINISHED_STATUSES:
            counts[status] = JobStatus.objects(status=status).count()
        counts["retrying"] = counts["delayed"]
        oldest = JobStatus.objects(status="queued").order_by("queued_at").only("queued_at").first()
        completed_last_hour = JobStatus.objects(status="completed", updated_at__gte=hour_ago).count()
        failed_last_hour = JobStatus.objects(status="failed", updated_at__gte=hour_ago).count()
        return {
            "queue": QUEUE_NAME,
            "counts": counts,
            "throughput": {
                "completedLastHour": completed_last_hour,
                "failedLastHour": failed_last_hour,
                "perMinute": round(completed_last_hour / 60, 2),
            },
            "oldestWaitingSeconds": int((now - oldest.queued_at).total_seconds()) if oldest else 0,
            "workers": self.live_workers(),
        }

    def live_workers(self) -> int:
        """Dramatiq Redis workers whose heartbeat is fresh (the broker's ``__heartbeats__`` set)."""
        cutoff = (utcnow().timestamp() * 1000) - self.settings.broker_heartbeat_timeout_ms
        return int(self.redis.zcount(key(self.settings, "__heartbeats__"), cutoff, "+inf"))


_queue: JobQueue | None = None
_producer: JobProducer | None = None


def configure_queue(queue: JobQueue) -> None:
    """Register where job messages go (the actors package does this when it is imported)."""
    global _queue, _producer
    _queue, _producer = queue, None


def get_producer() -> JobProducer:
    global _producer
    if _producer is None:
        if _queue is None:
            raise RuntimeError("no job queue configured: import the actors package first")
        _producer = JobProducer(_queue)
    return _producer


def enqueue_user(user_id: str, trigger: str = "manual") -> Enqueued:
    return get_producer().enqueue_user(user_id, trigger)


def enqueue_users(user_ids: Iterable[str], trigger: str = "schedule") -> list[Enqueued]:
    return get_producer().enqueue_users(user_ids, trigger)


def remove_job(job_id: str) -> JobStatus:
    return get_producer().remove_job(job_id)


def get_queue_stats() -> dict[str, Any]:
    return get_producer().get_queue_stats()
