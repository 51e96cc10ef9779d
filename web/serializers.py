"""JSON shapes of the API (DESIGN.md): camelCase keys, ISO 8601 UTC timestamps ending in ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models import AccountResult, JobError, JobStatus, User


def iso(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00.123Z``; a naive datetime is taken to be UTC (how MongoDB stores them)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_json(error: JobError | None) -> dict[str, str] | None:
    return None if error is None else {"type": error.type, "message": error.message}


def account_json(account: AccountResult) -> dict[str, Any]:
    return {
        "region": account.region,
        "country": account.country,
        "status": account.status,
        "ordersFetched": account.orders_fetched or 0,
        "durationMs": account.duration_ms,
        "error": error_json(account.error),
    }


def job_json(job: JobStatus) -> dict[str, Any]:
    return {
        "jobId": job.job_id,
        "userId": job.user_id,
        "status": job.status,
        "trigger": job.trigger,
        "attempts": job.attempts or 0,
        "maxAttempts": job.max_attempts,
        "quotaWaits": job.quota_waits or 0,
        "queuedAt": iso(job.queued_at),
        "startedAt": iso(job.started_at),
        "completedAt": iso(job.completed_at),
        "failedAt": iso(job.failed_at),
        "durationMs": job.duration_ms,
        "progress": job.progress,
        "accountsTotal": job.accounts_total,
        "accountsProcessed": job.accounts_processed,
        "accountsFailed": job.accounts_failed,
        "accounts": [account_json(a) for a in job.accounts],
        "error": error_json(job.error),
        "worker": job.worker,
    }


def user_status_json(user: User, jobs: list[JobStatus]) -> dict[str, Any]:
    return {
        "userId": user.user_id,
        "lastSyncedAt": iso(user.last_synced_at),
        "latest": job_json(jobs[0]) if jobs else None,
        "jobs": [job_json(j) for j in jobs],
    }


def hourly_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"hour": iso(r["hour"]), "completed": r["completed"], "failed": r["failed"]} for r in rows]
