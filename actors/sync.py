"""The sync actor: one message per user, thin over services.processing."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors.retries import WaitingForQuota
from services.errors import (
    CorruptDocumentError,
    JobCancelled,
    PermanentSpApiError,
    QuotaWait,
    UnknownUserError,
)
from services.jobs import QUEUE_NAME
from services.processing import process_user_data


@dramatiq.actor(
    queue_name=QUEUE_NAME,
    throws=(UnknownUserError, CorruptDocumentError, PermanentSpApiError, JobCancelled),
)
def process_user(user_id: str) -> None:
    """Sync every active seller account of ``user_id`` (fetch → analyse → cache → mark complete).

    Transient failures raise and are retried by the Retries middleware with exponential backoff;
    the errors in ``throws`` would fail the same way again, so they fail the job at once. A long
    wait for an SP-API quota token frees the worker: the job comes back when the token is due.
    """
    message = CurrentMessage.get_current_message()
    try:
        process_user_data(user_id, job_id=message.message_id if message else None)
    except QuotaWait as wait:
        raise WaitingForQuota(str(wait), delay=wait.delay_ms) from None
