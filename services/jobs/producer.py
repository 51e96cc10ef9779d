"""The job producer: enqueue, dedup, cancel, retry and queue statistics.

One job per user at a time (services.jobs.active): a second enqueue of a user returns the user's
queued or running job instead of a new one.

Two lanes (two Dramatiq queues, consumed by the same workers): jobs a person waits for (``manual``,
``retry``, ``onboarding``) travel in the priority lane, whose actor has the higher Dramatiq priority,
so a worker thread that frees up takes them before any waiting scheduled job. A manual enqueue of a
user whose scheduled job is still *queued* promotes that job: the record is marked (atomically, only
while it is queued), and a copy of its message is sent to the priority lane. Whichever delivery a
worker starts first, the job runs once: the standard-lane copy of a promoted job is skipped
(``JobRecords.start``). A job already running or retrying is returned as it is.

The producer sends messages through a :class:`JobQueue`: ``actors.producer(settings)`` builds a
producer on the Dramatiq one, so this module stays free of Dramatiq.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any, Protocol

import redis

from models import JobStatus, User, utcnow
from models.jobs import ACTIVE_STATUSES, FINISHED_STATUSES, TRIGGERS, lane_of
from services.jobs.active import ActiveJobs
from services.jobs.presence import Presence
from services.jobs.records import Cancellation, JobRecords, finished_job_ids
from services.platform.errors import InvalidInputError, JobStateError, UnknownJobError, UnknownUserError
from services.platform.redis_pool import get_redis
from services.platform.settings import Settings

logger = logging.getLogger(__name__)

#: The Dramatiq queue of the standard lane: the scheduler's jobs (and demo users).
QUEUE_NAME = "sync"
#: The Dramatiq queue of the priority lane: jobs a person waits for.
PRIORITY_QUEUE_NAME = "sync_priority"


class JobQueue(Protocol):
    """Where job messages go (a Dramatiq actor's queue in production)."""

    def new_job_id(self) -> str: ...

    def new_job_ids(self, count: int) -> list[str]:
        """``count`` new job ids at once (a batch's)."""
        ...

    def send(self, job_id: str, user_id: str, trigger: str) -> None: ...

    def send_many(self, jobs: list[tuple[str, str, str]]) -> None: ...

    def promote(self, job_id: str, user_id: str, trigger: str) -> None:
        """Send a copy of a queued job's message to the priority lane, marked as the promoted one."""
        ...


@dataclass(frozen=True)
class Enqueued:
    user_id: str
    job_id: str
    #: True when the user already had a queued or running job, returned instead of a new one.
    deduplicated: bool
    #: True when that job was waiting in the standard lane and was moved into the priority lane.
    promoted: bool = False


class JobProducer:
    def __init__(
        self,
        queue: JobQueue,
        settings: Settings,
        *,
        client: redis.Redis | None = None,
        records: JobRecords | None = None,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.redis = client or get_redis(settings)
        self.records = records or JobRecords(self.settings)
        self.active = ActiveJobs(self.settings, self.redis)

    # -- enqueue ------------------------------------------------------------------------------------
    def enqueue_user(self, user_id: str, trigger: str = "manual", *, retry_of: str | None = None) -> Enqueued:
        """Enqueue one user's sync, or return the user's queued or running job.

        Raises UnknownUserError (nothing enqueued) for an id that names no user, InvalidInputError
        for an unknown trigger.
        """
        _check_trigger(trigger)
        if not _is_id(user_id) or User.objects(user_id=user_id).only("user_id").first() is None:
            raise UnknownUserError(f"no user with id {user_id!r}")
        job_id = self.queue.new_job_id()
        for _ in range(3):
            if self.active.claim(user_id, job_id):
                return self._create_and_send(job_id, user_id, trigger, retry_of)
            current_id = self.active.current(user_id)
            if current_id is None:
                continue
            record = JobStatus.objects(job_id=current_id).only("status", "lane", "trigger").first()
            # A record not yet written belongs to an enqueue in flight: that job is the user's job.
            if record is None or record.status in ACTIVE_STATUSES:
                return self._existing(record, user_id, current_id, trigger)
            # The key outlived its job (a lost release): take it over atomically.
            if self.active.take_over(user_id, current_id, job_id):
                return self._create_and_send(job_id, user_id, trigger, retry_of)
        raise JobStateError(f"could not enqueue user {user_id!r}: its active-job key keeps changing")

    def enqueue_users(
        self,
        user_ids: Iterable[str],
        trigger: str = "schedule",
        *,
        batch_size: int | None = None,
        known: bool = False,
        still_due: Callable[[list[str]], set[str]] | None = None,
    ) -> list[Enqueued]:
        """Enqueue many users, in input order, with the same dedup as ``enqueue_user``.

        Works in batches of ``batch_size`` (default SCHEDULER_BATCH_SIZE), each costing: one MongoDB
        read of the users (skipped when ``known``: the ids were just read from the users collection),
        one Redis script call claiming their active-job keys, one MongoDB bulk insert of the new records
        and one Redis round trip sending the messages. Unknown ids are skipped with a warning.

        ``still_due`` (the scheduler's) is asked, once a batch's users are claimed, which of them are
        still due; the others are released and left out of the result. A user whose job ended between
        the scheduler's read and its claim has a fresh sync by then (a job records the sync before it
        frees its user), so it is not synced twice.
        """
        _check_trigger(trigger)
        size = batch_size or self.settings.scheduler_batch_size
        iterator = iter(user_ids)
        results: list[Enqueued] = []
        while batch := list(islice(iterator, size)):
            results.extend(self._enqueue_batch(batch, trigger, known=known, still_due=still_due))
        return results

    def _existing(self, record: JobStatus | None, user_id: str, job_id: str, trigger: str) -> Enqueued:
        """The user's job, answered to an enqueue: promoted first when a person waits for a job that
        waits in the standard lane."""
        if record is None or record.status != "queued" or record.lane == "priority":
            return Enqueued(user_id, job_id, deduplicated=True)
        if lane_of(trigger) != "priority" or not self.records.promote(job_id):
            return Enqueued(user_id, job_id, deduplicated=True)
        try:
            self.queue.promote(job_id, user_id, record.trigger)
        except Exception:
            # No copy was sent: the standard-lane message must stay the one that runs.
            self.records.unpromote(job_id)
            raise
        logger.info("Moved job %s of user %s into the priority lane (%s).", job_id, user_id, trigger)
        return Enqueued(user_id, job_id, deduplicated=True, promoted=True)

    def _enqueue_batch(
        self,
        user_ids: list[str],
        trigger: str,
        *,
        known: bool,
        still_due: Callable[[list[str]], set[str]] | None = None,
    ) -> list[Enqueued]:
        if not known:
            user_ids = self._known_users(user_ids)
        offers = list(zip(user_ids, self.queue.new_job_ids(len(user_ids)), strict=True))
        currents = self.active.claim_many(offers)
        results: list[Enqueued | None] = [None] * len(offers)
        claimed: list[int] = []
        contested: list[tuple[int, str]] = []
        for index, ((_, job_id), current_id) in enumerate(zip(offers, currents, strict=True)):
            if current_id == job_id:
                claimed.append(index)
            elif current_id is not None:
                contested.append((index, current_id))
        finished = self._finished_jobs([current_id for _, current_id in contested])
        for index, current_id in contested:
            user_id, job_id = offers[index]
            if current_id not in finished:
                # Queued, running, or a record not yet written (an enqueue in flight): the user's job.
                results[index] = Enqueued(user_id, current_id, deduplicated=True)
            elif self.active.take_over(user_id, current_id, job_id):
                claimed.append(index)  # the key outlived its job (a lost release)
        claimed.sort()  # taken-over keys joined late: send in input order (the scheduler's oldest first)
        skipped: set[int] = set()
        if still_due is not None and claimed:
            due = still_due([offers[i][0] for i in claimed])
            skipped = {i for i in claimed if offers[i][0] not in due}
            self._release_many([offers[i] for i in sorted(skipped)])
            claimed = [i for i in claimed if i not in skipped]
        self._create_and_send_many([offers[i] for i in claimed], trigger)
        for index in claimed:
            user_id, job_id = offers[index]
            results[index] = Enqueued(user_id, job_id, deduplicated=False)
        # A key that vanished or changed under us: the careful one-user path decides.
        return [
            r or self.enqueue_user(offers[i][0], trigger) for i, r in enumerate(results) if i not in skipped
        ]

    def _finished_jobs(self, job_ids: list[str]) -> set[str]:
        """Which of the jobs that hold users' keys have finished (one indexed read; none for none)."""
        return finished_job_ids(job_ids)

    def _known_users(self, user_ids: list[str]) -> list[str]:
        valid = [u for u in user_ids if _is_id(u)]
        cursor = User._get_collection().find({"user_id": {"$in": valid}}, {"user_id": 1, "_id": 0})
        found = {document["user_id"] for document in cursor}
        known = [u for u in user_ids if _is_id(u) and u in found]
        for user_id in user_ids:
            if not (_is_id(user_id) and user_id in found):
                logger.warning("Skipped unknown user %r.", user_id)
        return known

    def _create_and_send_many(self, claims: list[tuple[str, str]], trigger: str) -> None:
        """Record and send claimed ``(user_id, job_id)`` pairs: one bulk insert, one pipelined send."""
        if not claims:
            return
        jobs = [(job_id, user_id, trigger) for user_id, job_id in claims]
        try:
            self.records.insert_queued(jobs)
        except Exception:
            self._release_many(claims)
            raise
        try:
            self.queue.send_many(jobs)
        except Exception as exc:
            # Any of the batch may have reached the broker; a worker skips a message whose record
            # is failed, so marking them all failed and freeing the users is safe.
            for _, job_id in claims:
                self.records.finish_unsent(job_id, exc)
            self._release_many(claims)
            raise
        logger.debug("Enqueued %d jobs (%s).", len(claims), trigger)

    def _release_many(self, claims: list[tuple[str, str]]) -> None:
        for user_id, job_id in claims:
            self.release(user_id, job_id)

    def _create_and_send(self, job_id: str, user_id: str, trigger: str, retry_of: str | None) -> Enqueued:
        try:
            self.records.create_queued(job_id, user_id, trigger, retry_of=retry_of)
        except Exception:
            # No record, no message: free the user, or its next enqueue would wait for a ghost job.
            self.release(user_id, job_id)
            raise
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
    def remove_job(self, job_id: str) -> Cancellation:
        """Cancel a job: a queued one never runs, a running one stops before its next account.

        Idempotent (see JobRecords.cancel). Raises UnknownJobError, or JobStateError for a job that
        completed or failed.
        """
        cancellation = self.records.cancel(_job_id(job_id))
        record = cancellation.record
        if cancellation.done:
            self.release(record.user_id, job_id)
        if not cancellation.repeated:
            logger.info("Cancelled job %s (%s).", job_id, record.status)
        return cancellation

    def retry_job(self, job_id: str) -> Enqueued:
        """Enqueue a new job for the user of a failed or cancelled job."""
        record = self.records.get(_job_id(job_id))
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
        waiting_priority = JobStatus.objects(status="queued", lane="priority").count()
        oldest = JobStatus.objects(status="queued").order_by("queued_at").only("queued_at").first()
        completed_last_hour = JobStatus.objects(status="completed", updated_at__gte=hour_ago).count()
        failed_last_hour = JobStatus.objects(status="failed", updated_at__gte=hour_ago).count()
        return {
            "queue": QUEUE_NAME,
            "counts": counts,
            "lanes": {
                "priority": {"queue": PRIORITY_QUEUE_NAME, "waiting": waiting_priority},
                "standard": {"queue": QUEUE_NAME, "waiting": counts["waiting"] - waiting_priority},
            },
            "throughput": {
                "completedLastHour": completed_last_hour,
                "failedLastHour": failed_last_hour,
                "perMinute": round(completed_last_hour / 60, 2),
            },
            "oldestWaitingSeconds": int((now - oldest.queued_at).total_seconds()) if oldest else 0,
            "workers": self.live_workers(),
        }

    def live_workers(self) -> int:
        """Worker processes that announced themselves recently (services.jobs.presence)."""
        return Presence(self.settings, self.redis).count()


def _check_trigger(trigger: object) -> None:
    if trigger not in TRIGGERS:
        raise InvalidInputError("trigger", f"one of {', '.join(TRIGGERS)} (got {trigger!r})")


def _is_id(value: object) -> bool:
    """Whether ``value`` can name a user or job: a string the store can hold (UTF-8, so no lone
    surrogate). Anything else, a ``{"$ne": None}`` above all, names nothing and is never queried."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _job_id(value: object) -> str:
    if not _is_id(value):
        raise UnknownJobError(f"no job with id {value!r}")
    return value
