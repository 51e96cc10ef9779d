"""Moves each job's record through queued → running → retrying → completed | failed | cancelled."""

from __future__ import annotations

import logging
import time

from dramatiq import Middleware
from dramatiq.middleware import SkipMessage

from actors.current_lease import current_fence
from actors.messages import PROMOTED, user_id_of
from actors.retries import QUOTA_RESUME, WaitingForQuota
from services.jobs.active import ActiveJobs
from services.jobs.records import JobRecords
from services.platform import logs
from services.platform.errors import JobCancelled
from services.platform.worker_metrics import WorkerMetrics

logger = logging.getLogger(__name__)

#: AgeLimit's max_age in actors.broker, in hours (said in the reason of an expired job).
MAX_MESSAGE_AGE_HOURS = 24

#: Only messages of these actors are jobs with a status record (the two lanes of actors.sync).
JOB_ACTORS = {"process_user", "process_user_now"}
#: Message option set on a delivery this middleware skips (its job must not run), so that
#: ``after_skip_message`` tells it from one that AgeLimit skipped.
NOT_RUNNABLE = "not_runnable"


class JobStatusMiddleware(Middleware):
    """Records each attempt of a job: start, end, error, duration and worker.

    A job whose record says cancelled (or already finished) is skipped, never run.
    """

    def __init__(self, records: JobRecords, active: ActiveJobs, metrics: WorkerMetrics) -> None:
        self.records = records
        self.active = active
        self.metrics = metrics
        #: Job id -> monotonic start of its running attempt in this process (for the duration metric).
        self._started: dict[str, float] = {}

    def before_process_message(self, broker, message) -> None:
        if message.actor_name not in JOB_ACTORS:
            return
        logs.bind(job_id=message.message_id, user_id=user_id_of(message))
        fence = current_fence()
        started = self.records.start(
            message.message_id,
            user_id_of(message),
            new_attempt=not message.options.get(QUOTA_RESUME),
            quota_waits=message.options.get("quota_waits", 0),
            promoted=bool(message.options.get(PROMOTED)),
            fence=fence,
        )
        if not started:
            logger.info(
                "Skipping job %s: it was cancelled, has finished, or runs in the priority lane.",
                message.message_id,
            )
            message.options[NOT_RUNNABLE] = True
            raise SkipMessage()
        self._started[message.message_id] = time.monotonic()
        job_id, user_id = message.message_id, user_id_of(message)
        if message.options.get(QUOTA_RESUME):
            logger.info(
                "Job %s for user %s resumed after a quota wait, fencing token %s.", job_id, user_id, fence
            )
        else:
            retry = message.options.get("retries", 0)
            logger.info(
                "Job %s for user %s started (retry %d), fencing token %s.", job_id, user_id, retry, fence
            )

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        if message.actor_name not in JOB_ACTORS:
            return
        job_id, user_id = message.message_id, user_id_of(message)
        if exception is None:
            status = "completed"
        elif isinstance(exception, JobCancelled):
            status = "cancelled"
        elif message.failed:
            status = "failed"
        else:
            status = "retrying"
        fence = current_fence()
        if not self.records.finish(job_id, status, exception, fence=fence) and fence is not None:
            _log_fenced_out(job_id, user_id, status, fence, exception)
            logs.unbind()
            return
        if status != "retrying":
            self.active.release(user_id, job_id)
        quiet = status in ("completed", "cancelled") or isinstance(exception, WaitingForQuota)
        self._record_metrics(message, status, exception)
        log = logger.info if quiet else logger.warning
        reason = f": {type(exception).__name__}: {exception}" if exception is not None else ""
        log("Job %s for user %s %s%s (fencing token %s).", job_id, user_id, status, reason, fence)
        logs.unbind()

    def _record_metrics(self, message, status: str, exception: BaseException | None) -> None:
        """The attempt's duration by trigger and ending, and a retry by its reason (sent by the process
        with its other metrics). A quota wait (ending ``quota_wait``) hands the job back without
        spending a retry."""
        ended = "quota_wait" if isinstance(exception, WaitingForQuota) else status
        started = self._started.pop(message.message_id, None)
        if started is not None:
            labels = {"trigger": message.options.get("trigger", "manual"), "status": ended}
            self.metrics.observe("job_duration_seconds", labels, time.monotonic() - started)
        if ended == "retrying":
            self.metrics.count("job_retries", {"reason": type(exception).__name__})

    def after_skip_message(self, broker, message) -> None:
        """A job skipped by another middleware (AgeLimit: too old to run) fails, saying why."""
        logs.unbind()
        if message.actor_name not in JOB_ACTORS or message.options.get(NOT_RUNNABLE):
            return
        job_id, user_id = message.message_id, user_id_of(message)
        if self.records.expire(job_id, f"the message waited longer than {MAX_MESSAGE_AGE_HOURS} h to run"):
            self.active.release(user_id, job_id)
            logger.warning("Job %s for user %s failed: it expired before a worker took it.", job_id, user_id)


def _log_fenced_out(job_id: str, user_id: str, status: str, fence: int, exception) -> None:
    """An execution whose end the record refused: a newer one started the job (or it was not running).
    Its end is not the job's: the newer execution records and releases the job."""
    reason = f" ({type(exception).__name__}: {exception})" if exception is not None else ""
    logger.warning(
        "Job %s for user %s: the execution with fencing token %d ended (%s%s) after a newer one took "
        "the job over; its end is not recorded.",
        job_id,
        user_id,
        fence,
        status,
        reason,
    )
