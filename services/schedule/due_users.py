"""Which users are due for a scheduled sync, read in batches from one MongoDB cursor.

A user is due when sync is enabled, it has at least one active seller account, its last successful
sync is older than SYNC_INTERVAL_MINUTES less the lead of ``services.schedule.timing.due_lead`` (or
it never synced), and it has no queued, running or retrying job. Oldest sync first (never-synced
users before all others, then by user id).

The users are read through one server-side cursor whose batch size is the scheduler's batch size, so
no more than one batch is ever held in memory. Each batch then costs one more MongoDB query (which
of these users have an active account), one Redis ``MGET`` of their active-job keys and, only when
some keys are set, one query for those jobs' states: a key naming a finished job is a lost release,
and its user is due (``JobProducer.enqueue_users`` takes the key over).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import redis

from models import SellerAccount, User, utcnow
from services.jobs.active import ActiveJobs
from services.jobs.records import finished_job_ids
from services.platform.settings import Settings
from services.schedule.timing import due_lead, skew_margin


def due_cutoff(settings: Settings, now: datetime) -> datetime:
    """A user whose last successful sync is older than this is due at ``now``."""
    return now - timedelta(minutes=settings.sync_interval_minutes) + due_lead(settings, now)


def due_query(settings: Settings, now: datetime) -> dict:
    """The users-collection filter of due users (before the account and active-job checks)."""
    # null matches a missing field as well as an explicit None: both mean "never synced".
    never_or_old = [{"last_synced_at": None}, {"last_synced_at": {"$lt": due_cutoff(settings, now)}}]
    return {"sync_enabled": True, "$or": never_or_old}


def still_due(settings: Settings, user_ids: list[str], read_at: datetime) -> set[str]:
    """Which of ``user_ids``, read as due at ``read_at``, have not been synced since.

    "Since" starts ``skew_margin`` before the read (clock skew between the workers' hosts and the
    scheduler's). That margin is a share of the time a synced user stays not due, so a user due at
    the read is never taken for one synced since; a fixed 60 s was a whole interval when a
    simulation ran an hour a minute, and left out every user whose data was 50-60 minutes old.
    One range of the due index (sync_enabled, last_synced_at), not an ``$in`` of the batch: the
    embedded document server looks ids up one by one (~1 s per 1,000).
    """
    if not user_ids:
        return set()
    since = read_at - skew_margin(settings, read_at)
    query = {"sync_enabled": True, "last_synced_at": {"$gte": since}}
    synced = {d["user_id"] for d in User._get_collection().find(query, {"user_id": 1, "_id": 0})}
    return set(user_ids) - synced


def due_user_batches(
    settings: Settings,
    client: redis.Redis,
    *,
    batch_size: int | None = None,
    now: datetime | None = None,
) -> Iterator[list[str]]:
    """Yield the ids of due users, oldest sync first, in lists of at most ``batch_size``.

    Lists may be shorter than ``batch_size`` (users filtered out of a read batch) but never empty.
    """
    size = batch_size or settings.scheduler_batch_size
    active = ActiveJobs(settings, client)
    cursor = (
        User._get_collection()
        .find(due_query(settings, now or utcnow()), {"user_id": 1, "_id": 0})
        .sort([("last_synced_at", 1), ("user_id", 1)])
        .batch_size(size)
    )
    batch: list[str] = []
    for document in cursor:
        batch.append(document["user_id"])
        if len(batch) == size:
            due = _without_busy_or_idle(batch, active)
            if due:
                yield due
            batch = []
    if batch:
        due = _without_busy_or_idle(batch, active)
        if due:
            yield due


def _without_busy_or_idle(user_ids: list[str], active: ActiveJobs) -> list[str]:
    """Keep the users with an active account and without a queued, running or retrying job."""
    query = {"user_id": {"$in": user_ids}, "status": "active"}
    with_accounts = set(SellerAccount._get_collection().distinct("user_id", query))
    candidates = [u for u in user_ids if u in with_accounts]
    current = dict(zip(candidates, active.current_many(candidates), strict=True))
    job_ids = [job_id for job_id in current.values() if job_id is not None]
    finished = finished_job_ids(job_ids)
    # A key without a finished record is a live job, or an enqueue in flight: not due.
    return [u for u in candidates if current[u] is None or current[u] in finished]
