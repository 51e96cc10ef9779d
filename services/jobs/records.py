"""Job-status transitions, each one atomic conditional update on the JobStatus record.

queued → running → completed | retrying → running … | failed | cancelled. A transition names the
states it may leave, so two actors racing (a cancel and a start, say) cannot both win.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models import AccountResult, JobError, JobStatus, utcnow
from models.jobs import ACTIVE_STATUSES, FINISHED_STATUSES, lane_of
from services.platform.errors import JobStateError, UnknownJobError
from services.platform.settings import Settings

MAX_ERROR_MESSAGE = 2000

#: Job id -> the stored form of its last account's result, which the job's ``finish`` writes (one
#: write for both). Kept per process, not per JobRecords: the actor reports the result and the
#: job-status middleware finishes the job, each with its own (the same process runs both).
_RESULTS_WITH_FINISH: dict[str, dict] = {}


@dataclass(frozen=True)
class Cancellation:
    """What a cancel did: ``record`` as it now is; ``repeated`` when an earlier cancel already had."""

    record: JobStatus
    repeated: bool

    @property
    def done(self) -> bool:
        """True when the job is cancelled; False when it runs on and only the request is recorded."""
        return self.record.status == "cancelled"


def finished_job_ids(job_ids: list[str]) -> set[str]:
    """Which of ``job_ids`` have a finished record (one indexed query; none when the list is empty)."""
    if not job_ids:
        return set()
    query = {"job_id": {"$in": job_ids}, "status": {"$in": list(FINISHED_STATUSES)}}
    return {d["job_id"] for d in JobStatus._get_collection().find(query, {"job_id": 1, "_id": 0})}


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def job_error(exc: BaseException) -> JobError:
    """The stored form of an exception: its class name and a bounded message (never a secret).

    Our own errors are built from Amazon's codes and messages only; refresh tokens never reach them.
    """
    message = str(exc) or repr(exc)
    return JobError(type=type(exc).__name__, message=message[:MAX_ERROR_MESSAGE])


@dataclass
class JobRecords:
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    #: job_id -> when this process started the job's current attempt (read by ``finish``).
    _started: dict[str, datetime] = field(default_factory=dict, repr=False)

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(days=self.settings.job_status_retention_days)

    def new_record(
        self,
        job_id: str,
        user_id: str,
        trigger: str,
        *,
        retry_of: str | None = None,
        now: datetime | None = None,
    ) -> JobStatus:
        now = now or self.clock()
        return JobStatus(
            job_id=job_id,
            user_id=user_id,
            status="queued",
            trigger=trigger,
            lane=lane_of(trigger),
            attempts=0,
            max_attempts=self.settings.job_max_retries + 1,
            queued_at=now,
            updated_at=now,
            retry_of=retry_of,
            expires_at=self._expiry(now),
        )

    def create_queued(
        self, job_id: str, user_id: str, trigger: str, *, retry_of: str | None = None
    ) -> JobStatus:
        return self.new_record(job_id, user_id, trigger, retry_of=retry_of).save(force_insert=True)

    def insert_many(self, records: Iterable[JobStatus]) -> int:
        """One bulk insert for many new records (the scheduler's batches)."""
        documents = [r.to_mongo() for r in records]
        if documents:
            JobStatus._get_collection().insert_many(documents, ordered=False)
        return len(documents)

    def queued_documents(
        self, jobs: Iterable[tuple[str, str, str]], *, now: datetime | None = None
    ) -> list[dict]:
        """The stored form of new ``queued`` records for ``(job_id, user_id, trigger)`` triples.

        The same documents as ``new_record(...).to_mongo()`` (one is built as the template, so new
        fields and defaults follow the model), copied as plain dicts: building 100,000 MongoEngine
        documents costs seconds, most of a scheduler tick's time otherwise.
        """
        now = now or self.clock()
        template = self.new_record("", "", "schedule", now=now).to_mongo().to_dict()
        lists = [name for name, value in template.items() if isinstance(value, list)]
        documents = []
        for job_id, user_id, trigger in jobs:
            document = {**template, "job_id": job_id, "user_id": user_id, "trigger": trigger}
            document["lane"] = lane_of(trigger)
            for name in lists:
                document[name] = list(template[name])
            documents.append(document)
        return documents

    def insert_queued(self, jobs: Iterable[tuple[str, str, str]], *, now: datetime | None = None) -> int:
        """Create ``queued`` records for ``(job_id, user_id, trigger)`` triples in one bulk insert."""
        documents = self.queued_documents(jobs, now=now)
        if documents:
            JobStatus._get_collection().insert_many(documents, ordered=False)
        return len(documents)

    def get(self, job_id: str) -> JobStatus:
        record = JobStatus.objects(job_id=job_id).first()
        if record is None:
            raise UnknownJobError(f"no job with id {job_id!r}")
        return record

    def start(
        self,
        job_id: str,
        user_id: str,
        *,
        worker: str | None = None,
        new_attempt: bool = True,
        quota_waits: int = 0,
        promoted: bool = False,
        fence: int | None = None,
    ) -> bool:
        """Mark the job running; False when it must not run (cancelled, finished, or promoted away).

        ``new_attempt`` is False when the job resumes after a quota wait: that is the same attempt.
        ``running`` may be left for ``running`` again: that is a redelivery after a worker died.
        ``promoted`` says the delivery is the priority-lane copy of a promoted job; the other copy
        (still in the standard lane) must not run once the record is promoted: that condition is part
        of the update, so a promotion and a start cannot both win.
        A record that does not exist (expired, or written to another store) is created running.
        ``fence`` is the execution's fencing token (services.jobs.lease): the start is conditional on
        every earlier start having had a smaller one, and the record keeps it for the later writes.
        """
        now = self.clock()
        changes = self._start_changes(now, worker, new_attempt, quota_waits, fence)
        # a record never started by a fenced execution has no token
        newer = {"fence__not__gte": fence} if fence is not None else {}
        # One update, not read back: the caller knows what it wrote (a findAndModify would scan the
        # collection on the embedded document server). Only a refused start reads the record.
        runnable = {} if promoted else {"promoted_at": None}
        startable = JobStatus.objects(job_id=job_id, status__in=ACTIVE_STATUSES, **runnable, **newer)
        if startable.update_one(**changes):
            self._started[job_id] = now
            return True
        record = JobStatus.objects(job_id=job_id).first()
        if record is not None:
            return self._started_by(record, fence)
        self.new_record(job_id, user_id, "manual", now=now).save(force_insert=True)
        if not JobStatus.objects(job_id=job_id, status="queued", **newer).update_one(**changes):
            return False
        self._started[job_id] = now
        return True

    def _start_changes(
        self, now: datetime, worker: str | None, new_attempt: bool, quota_waits: int, fence: int | None
    ) -> dict:
        """The update that marks a job running for this attempt (and under this fencing token)."""
        changes = dict(
            set__status="running",
            set__started_at=now,
            set__updated_at=now,
            set__expires_at=self._expiry(now),
            set__worker=worker or worker_id(),
            set__quota_waits=quota_waits,
            inc__attempts=1 if new_attempt else 0,
        )
        if fence is not None:
            changes["set__fence"] = fence
        return changes

    def _started_by(self, record: JobStatus, fence: int | None) -> bool:
        """Whether a refused start had in fact been applied already: the record runs under this very
        execution's token. (A start whose reply is lost, its connection cut while the store restarts,
        is sent again by pymongo's retryable writes or by the caller; that copy's condition then fails
        on the running record. A fencing token belongs to one execution, so no other start set it.)"""
        if fence is None or record.status != "running" or record.fence != fence:
            return False
        self._started[record.job_id] = record.started_at
        return True

    def promote(self, job_id: str) -> bool:
        """Move a queued standard-lane job into the priority lane; False when it is no longer queued
        there (a worker started it, or another enqueue promoted it first)."""
        now = self.clock()
        return bool(
            JobStatus.objects(job_id=job_id, status="queued", promoted_at=None).update_one(
                set__promoted_at=now, set__lane="priority", set__updated_at=now
            )
        )

    def unpromote(self, job_id: str) -> None:
        """Undo :meth:`promote` when the priority copy could not be sent (the first copy runs again)."""
        JobStatus.objects(job_id=job_id, status="queued").update_one(
            unset__promoted_at=True, set__lane="standard"
        )

    def plan_accounts(
        self, job_id: str, accounts: list[AccountResult], *, fence: int | None = None
    ) -> JobStatus | None:
        """Set the job's account list on its first attempt; later attempts keep the results so far.

        Returns the record when it already had accounts (their results are what a retry resumes
        from), None when this call set them: nothing is done yet, so the record is not read again.
        """
        unplanned = JobStatus.objects(job_id=job_id, accounts__size=0, **_held(fence))
        if unplanned.update_one(set__accounts=accounts):
            return None
        return JobStatus.objects(job_id=job_id).first()

    def record_account(self, job_id: str, result: AccountResult, *, fence: int | None = None) -> None:
        """Store one account's result (replacing an earlier attempt's): this is the job's progress report.

        With ``fence``, only while the record's fencing token is that one (no newer execution started).
        """
        self._record_document(job_id, result.to_mongo().to_dict(), fence)

    def _record_document(self, job_id: str, document: dict, fence: int | None) -> None:
        now = self.clock()
        collection = JobStatus._get_collection()
        held, marketplace_id = _held(fence), document["marketplace_id"]
        replaced = collection.update_one(
            {"job_id": job_id, "accounts.marketplace_id": marketplace_id, **held},
            {"$set": {"accounts.$": document, "updated_at": now}},
        )
        if replaced.matched_count == 0:  # an account added since the job's first attempt
            collection.update_one(
                {"job_id": job_id, "accounts.marketplace_id": {"$ne": marketplace_id}, **held},
                {"$push": {"accounts": document}, "$set": {"updated_at": now}},
            )

    def record_account_with_finish(self, job_id: str, result: AccountResult) -> None:
        """Keep the result of the job's last account for its ``finish`` in this process, which
        writes both at once, a moment later (the actor ends; the job-status middleware finishes).

        Only for an account already on the record (its plan). A worker that dies in between loses
        nothing: the job's done set has the account, and the redelivery records it from there.
        """
        _RESULTS_WITH_FINISH[job_id] = result.to_mongo().to_dict()

    def record_first_look(
        self, job_id: str, marketplace_id: str, at: datetime, *, fence: int | None = None
    ) -> None:
        """Note when the job cached the account's first look (its result is still pending)."""
        JobStatus._get_collection().update_one(
            {"job_id": job_id, "accounts.marketplace_id": marketplace_id, **_held(fence)},
            {"$set": {"accounts.$.first_look_at": at, "updated_at": self.clock()}},
        )

    def finish_unsent(self, job_id: str, error: BaseException) -> None:
        """A queued job whose message could not be sent: failed, with the reason."""
        now = self.clock()
        JobStatus.objects(job_id=job_id, status="queued").update_one(
            set__status="failed", set__failed_at=now, set__updated_at=now, set__error=job_error(error)
        )

    def expire(self, job_id: str, reason: str) -> bool:
        """A queued or retrying job that will never run (its message expired): failed, with ``reason``."""
        now = self.clock()
        error = JobError(type="JobExpired", message=reason)
        return bool(
            JobStatus.objects(job_id=job_id, status__in=("queued", "retrying")).update_one(
                set__status="failed", set__failed_at=now, set__updated_at=now, set__error=error
            )
        )

    def is_cancel_requested(self, job_id: str) -> bool:
        return JobStatus.objects(job_id=job_id, cancel_requested=True).only("job_id").first() is not None

    def finish(
        self, job_id: str, status: str, error: BaseException | None = None, *, fence: int | None = None
    ) -> bool:
        """Move a running job to completed, retrying, failed or cancelled; False when it was not running
        (or, with ``fence``, when a newer execution than that token's has started it since).

        The attempt's start is remembered by :meth:`start` in this process (the same worker process
        starts and finishes a delivery), so the record is not read first; it is read only when this
        process did not start the job.
        """
        now = self.clock()
        started_at = self._started.pop(job_id, None)
        if started_at is None:
            record = JobStatus.objects(job_id=job_id).only("started_at").first()
            started_at = record.started_at if record is not None else None
        changes: dict = {"status": status, "updated_at": now, "expires_at": self._expiry(now)}
        if started_at is not None:
            changes["duration_ms"] = int((now - started_at).total_seconds() * 1000)
        if status in FINISHED_AT_FIELD:
            changes[FINISHED_AT_FIELD[status]] = now
        if error is not None:
            changes["error"] = job_error(error).to_mongo().to_dict()
        update = {"$set": changes, **({"$unset": {"error": ""}} if status == "completed" else {})}
        running = {"job_id": job_id, "status": "running", **_held(fence)}
        collection = JobStatus._get_collection()
        account = _RESULTS_WITH_FINISH.pop(job_id, None)
        if account is not None:  # the last account's result: on the record, in the same write
            query = {**running, "accounts.marketplace_id": account["marketplace_id"]}
            if collection.update_one(
                query, {**update, "$set": {**changes, "accounts.$": account}}
            ).matched_count:
                return True
        finished = bool(collection.update_one(running, update).matched_count)
        if finished and account is not None:  # the account was not on the record after all
            self._record_document(job_id, account, fence)
        return finished

    def cancel(self, job_id: str) -> Cancellation:
        """Cancel a job: a queued or retrying one never runs; a running one stops before its next account.

        The time of the request is kept on the record (``cancel_requested_at``), also when the running
        job completes its last account anyway. Cancelling again is idempotent: it writes nothing and
        says ``repeated``. Raises UnknownJobError, or JobStateError when the job completed or failed.
        """
        now = self.clock()
        requested = dict(set__cancel_requested=True, set__cancel_requested_at=now, set__updated_at=now)
        record = JobStatus.objects(job_id=job_id, status__in=("queued", "retrying")).modify(
            new=True, set__status="cancelled", set__cancelled_at=now, **requested
        )
        if record is None:
            record = JobStatus.objects(job_id=job_id, status="running", cancel_requested__ne=True).modify(
                new=True, **requested
            )
        if record is not None:
            return Cancellation(record, repeated=False)
        current = self.get(job_id)
        if current.status in ("running", "cancelled"):
            return Cancellation(current, repeated=True)
        raise JobStateError(f"job {job_id} is already {current.status}")


#: The time field a finish sets for each final status.
FINISHED_AT_FIELD = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at"}


def _held(fence: int | None) -> dict:
    """The filter of a record write by the execution holding ``fence`` (none without a token)."""
    return {} if fence is None else {"fence": fence}
