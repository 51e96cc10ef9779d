"""Job retries that know a quota wait from a failure.

A job whose next SP-API call would wait long for its quota token raises :class:`WaitingForQuota`
(a ``dramatiq.Retry`` with the delay). Dramatiq's Retries middleware counts every ``Retry`` against
``max_retries``, so a seller whose getOrders quota refills once a minute would fail after
JOB_MAX_RETRIES waits without anything having gone wrong. :class:`JobRetries` requeues a quota wait
with its delay and leaves the retry count alone; every other exception goes to Retries as before.

A retry's enqueue that fails (the broker is unreachable: Redis restarting) is tried again until it
succeeds. Dramatiq's Retries would log the failure and go on, and the worker would then ack the
message once the broker is back: the job would be lost, its record saying ``retrying`` for ever.
Holding the worker thread instead keeps the message unacked until its retry is safely queued; a
worker that dies meanwhile leaves it to be redelivered.

An execution that lost its job's lease (:class:`services.platform.errors.LeaseLost`: cut off from Redis
longer than the lease, or paused) is not a failure of the job either, and must not be acked away:
another execution may have the job now, or nobody (the lease ran out but the message was not
redelivered). It is put back after a lease's time, without spending a retry: then it finds the job
finished (skipped), held by a live execution (put back again) or free (it goes on).

Why a subclass rather than ``retry_when`` or editing ``message.options["retries"]``: ``retry_when``
only decides *whether* to retry; the count still grows with every quota wait and then eats the real
retries; lowering the count from another middleware would depend on hook order and briefly store a
negative number. Here the decision is one ``isinstance`` in the place Dramatiq makes it.
"""

from __future__ import annotations

import time

import dramatiq
import redis
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Retries

from actors.lanes import after_quota_wait
from services.platform.errors import LeaseLost


class WaitingForQuota(dramatiq.Retry):
    """The job hands its worker back until a quota token is due; ``delay`` is in milliseconds."""


#: Seconds between two tries of a retry's enqueue while the broker is unreachable: first, and at most.
ENQUEUE_RETRY_SECONDS = (0.5, 5.0)
#: What an unreachable broker raises (Redis directly, or Dramatiq's wrapper for RabbitMQ).
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError)

#: Message option: this delivery resumes the attempt that waited for a quota token (not a new attempt).
QUOTA_RESUME = "quota_resume"


class JobRetries(Retries):
    """Retries, except that :class:`WaitingForQuota` and :class:`LeaseLost` are delayed redeliveries,
    not retries. ``lease_lost_delay_ms``: when a delivery that lost its lease comes back."""

    def __init__(self, *, lease_lost_delay_ms: int = 0, **options) -> None:
        super().__init__(**options)
        self.lease_lost_delay_ms = lease_lost_delay_ms

    def after_process_message(self, broker, message, *, result=None, exception=None):
        broker = _PersistentEnqueue(broker, self.logger)
        if isinstance(exception, LeaseLost):
            message.options.pop(QUOTA_RESUME, None)  # the next execution is an attempt of its own
            self.logger.warning("Message %r is put back (no retry spent): %s", message.message_id, exception)
            broker.enqueue(message, delay=self.lease_lost_delay_ms)
            return None
        if not isinstance(exception, WaitingForQuota):
            message.options.pop(QUOTA_RESUME, None)  # a real retry is a new attempt
            return super().after_process_message(broker, message, result=result, exception=exception)
        message.options[QUOTA_RESUME] = True
        message.options["quota_waits"] = message.options.get("quota_waits", 0) + 1
        requeued = after_quota_wait(message)
        self.logger.info(
            "Message %r waits %d ms for an SP-API quota token (then runs in queue %s): %s",
            message.message_id,
            exception.delay or 0,
            requeued.queue_name,
            exception,
        )
        broker.enqueue(requeued, delay=exception.delay or 0)
        return None


class _PersistentEnqueue:
    """The broker, whose ``enqueue`` is tried again until it succeeds (see the module docstring)."""

    def __init__(self, broker: dramatiq.Broker, logger) -> None:
        self._broker = broker
        self._logger = logger

    def __getattr__(self, name: str):
        return getattr(self._broker, name)

    def enqueue(self, message: dramatiq.Message, *, delay: int | None = None) -> dramatiq.Message:
        wait, longest = ENQUEUE_RETRY_SECONDS
        while True:
            try:
                return self._broker.enqueue(message, delay=delay)
            except UNREACHABLE as exc:
                self._logger.warning(
                    "Could not queue the retry of message %r (%s); trying again in %g s.",
                    message.message_id,
                    exc,
                    wait,
                )
                time.sleep(wait)
                wait = min(wait * 2, longest)
