"""Job retries that know a quota wait from a failure.

A job whose next SP-API call would wait long for its quota token raises :class:`WaitingForQuota`
(a ``dramatiq.Retry`` with the delay). Dramatiq's Retries middleware counts every ``Retry`` against
``max_retries``, so a seller whose getOrders quota refills once a minute would fail after
JOB_MAX_RETRIES waits without anything having gone wrong. :class:`JobRetries` requeues a quota wait
with its delay and leaves the retry count alone; every other exception goes to Retries as before.

Why a subclass rather than ``retry_when`` or editing ``message.options["retries"]``: ``retry_when``
only decides *whether* to retry; the count still grows with every quota wait and then eats the real
retries; lowering the count from another middleware would depend on hook order and briefly store a
negative number. Here the decision is one ``isinstance`` in the place Dramatiq makes it.
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import Retries


class WaitingForQuota(dramatiq.Retry):
    """The job hands its worker back until a quota token is due; ``delay`` is in milliseconds."""


#: Message option: this delivery resumes the attempt that waited for a quota token (not a new attempt).
QUOTA_RESUME = "quota_resume"


class JobRetries(Retries):
    """Retries, except that :class:`WaitingForQuota` is a delayed redelivery, not a retry."""

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if not isinstance(exception, WaitingForQuota):
            message.options.pop(QUOTA_RESUME, None)  # a real retry is a new attempt
            return super().after_process_message(broker, message, result=result, exception=exception)
        message.options[QUOTA_RESUME] = True
        message.options["quota_waits"] = message.options.get("quota_waits", 0) + 1
        self.logger.info(
            "Message %r waits %d ms for an SP-API quota token: %s",
            message.message_id,
            exception.delay or 0,
            exception,
        )
        broker.enqueue(message, delay=exception.delay or 0)
        return None
