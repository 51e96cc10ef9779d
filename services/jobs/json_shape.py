"""The JSON shape of jobs: what the REST API answers and ``sellersync … --json`` prints.

One module for both front ends, so a job reads the same through either: camelCase keys, ISO 8601
UTC timestamps ending in ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models import AccountResult, JobError, JobStatus, User
from services.jobs.producer import Enqueued
from services.jobs.records import Cancellation
from services.platform.json_fields import fields_json


def iso(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00.123Z``; a naive datetime is taken to be UTC (how MongoDB stores them)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def times_json(source: object, *names: str) -> dict[str, str | None]:
    """Like :func:`fields_json`, for datetime attributes: each as :func:`iso` writes it."""
    return {key: iso(value) for key, value in fields_json(source, *names).items()}


def error_json(error: JobError | None) -> dict[str, str] | None:
    return None if error is None else {"type": error.type, "message": error.message}


def account_result_json(account: AccountResult) -> dict[str, Any]:
    """One account's part of a job (not the seller account: operations.onboarding.account_json)."""
    return {
        **fields_json(account, "region", "country", "status"),
        "ordersFetched": account.orders_fetched or 0,
        "durationMs": account.duration_ms,
        "error": error_json(account.error),
        **times_json(account, "first_look_at", "analysed_at"),
    }


def job_json(job: JobStatus) -> dict[str, Any]:
    return {
        **fields_json(job, "job_id", "user_id", "status", "trigger"),
        "lane": job.lane or "standard",
        "promotedAt": iso(job.promoted_at),
        "attempts": job.attempts or 0,
        "maxAttempts": job.max_attempts,
        "quotaWaits": job.quota_waits or 0,
        **times_json(job, "queued_at", "started_at", "completed_at", "failed_at", "cancel_requested_at"),
        **fields_json(
            job, "duration_ms", "progress", "accounts_total", "accounts_processed", "accounts_failed"
        ),
        "accounts": [account_result_json(a) for a in job.accounts],
        "error": error_json(job.error),
        "worker": job.worker,
    }


def enqueued_json(enqueued: Enqueued) -> dict[str, Any]:
    """One user's answer to a manual enqueue (``POST /app/job-status/sync``, ``sellersync enqueue``)."""
    return fields_json(enqueued, "user_id", "job_id", "deduplicated", "promoted")


def cancel_json(cancellation: Cancellation) -> dict[str, Any]:
    """The job after a cancel, and what the cancel did: ``"cancel"`` is ``"done"`` (the job is
    cancelled) or ``"requested"`` (it runs on and stops before its next account, or completes if that
    was its last); ``"repeated"`` is true when an earlier cancel had already done or asked as much."""
    return {
        **job_json(cancellation.record),
        "cancel": "done" if cancellation.done else "requested",
        "repeated": cancellation.repeated,
    }


def user_status_json(user: User, jobs: list[JobStatus]) -> dict[str, Any]:
    """A user's sync status: ``jobs`` as given (newest first), the first of them as ``latest``."""
    return {
        "userId": user.user_id,
        "lastSyncedAt": iso(user.last_synced_at),
        "latest": job_json(jobs[0]) if jobs else None,
        "jobs": [job_json(j) for j in jobs],
    }


def hourly_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Completed and failed jobs per hour (services.jobs.queries.JobQueries.hourly)."""
    return [{"hour": iso(r["hour"]), "completed": r["completed"], "failed": r["failed"]} for r in rows]
