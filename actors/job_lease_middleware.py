"""Each delivery of a job runs under the job's lease (services.jobs.lease), or waits for it.

Listed before JobStatusMiddleware: the lease is taken before the record is started (the start
carries the fencing token) and released after the record's end (``after_*`` hooks run in reverse).
A delivery whose job is held by a live execution elsewhere (a message redelivered from a worker
that only looked dead: cut off from Redis, or its threads all busy with long jobs) is put back
with a delay and skipped; it is never run beside that execution.
"""

from __future__ import annotations

import logging

from dramatiq import Middleware
from dramatiq.middleware import SkipMessage

from actors.current_lease import current_lease, set_current_lease
from actors.job_status_middleware import JOB_ACTORS, NOT_RUNNABLE
from services.jobs.lease import JobLease, LeaseKeeper

logger = logging.getLogger(__name__)


class JobLeaseMiddleware(Middleware):
    """Takes the job's lease before its record starts; releases it once the delivery ends."""

    def __init__(self, keeper: LeaseKeeper) -> None:
        self.keeper = keeper

    def before_process_message(self, broker, message) -> None:
        set_current_lease(None)
        if message.actor_name not in JOB_ACTORS:
            return
        lease = self.keeper.acquire(message.message_id)
        if isinstance(lease, JobLease):
            set_current_lease(lease)
            return
        # Back after the holder's lease would have run out: by then it has finished (the record then
        # says so and this copy is skipped), renewed (this copy waits again), or died (this copy runs).
        delay = max(lease, self.keeper.timing.renew_ms) + self.keeper.timing.renew_ms
        broker.enqueue(message, delay=delay)
        logger.info(
            "Job %s runs elsewhere under a live lease; its redelivered message is put back for %d ms.",
            message.message_id,
            delay,
        )
        message.options[NOT_RUNNABLE] = True
        raise SkipMessage()

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        self._release()

    def after_skip_message(self, broker, message) -> None:
        self._release()

    def _release(self) -> None:
        lease = current_lease()
        if lease is not None:
            set_current_lease(None)
            self.keeper.release(lease)
