"""The sync actors: one message per user, thin over services.sync.processing, in two lanes (actors.lanes)."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors.current_lease import current_lease
from actors.lanes import (
    FIRST_LOOK_CACHED,
    PRIORITY_ACTOR,
    PRIORITY_LANE_PRIORITY,
    STANDARD_ACTOR,
    STANDARD_LANE_PRIORITY,
)
from actors.retries import WaitingForQuota
from services.jobs.producer import PRIORITY_QUEUE_NAME, QUEUE_NAME
from services.platform.errors import (
    CorruptDocumentError,
    JobCancelled,
    PermanentSpApiError,
    QuotaWait,
    UnknownUserError,
)
from services.platform.settings import get_settings
from services.sync.processing import process_user_data

#: Errors that would fail the same way again: the job fails at once, without retries.
PERMANENT_ERRORS = (UnknownUserError, CorruptDocumentError, PermanentSpApiError, JobCancelled)


def sync_user(user_id: str) -> None:
    """Sync every active seller account of ``user_id`` (fetch → analyse → cache → mark complete).

    Transient failures raise and are retried by the Retries middleware with exponential backoff;
    the errors in ``throws`` would fail the same way again, so they fail the job at once. A long
    wait for an SP-API quota token frees the worker: the job comes back when the token is due.
    """
    message = CurrentMessage.get_current_message()

    def first_look_cached() -> None:
        if message is not None:
            message.options[FIRST_LOOK_CACHED] = True

    try:
        process_user_data(
            user_id,
            settings=get_settings(),
            job_id=message.message_id if message else None,
            on_first_look=first_look_cached,
            lease=current_lease(),
            last_result_with_finish=message is not None,  # JobStatusMiddleware finishes the record
        )
    except QuotaWait as wait:
        raise WaitingForQuota(str(wait), delay=wait.delay_ms) from None


def _lane(actor_name: str, queue_name: str, priority: int) -> dramatiq.Actor:
    return dramatiq.actor(
        sync_user, actor_name=actor_name, queue_name=queue_name, priority=priority, throws=PERMANENT_ERRORS
    )


#: The standard lane: the scheduler's jobs.
process_user = _lane(STANDARD_ACTOR, QUEUE_NAME, STANDARD_LANE_PRIORITY)
#: The priority lane: jobs a person waits for (manual syncs, onboarding, operators' retries).
process_user_now = _lane(PRIORITY_ACTOR, PRIORITY_QUEUE_NAME, PRIORITY_LANE_PRIORITY)
