"""Job records for the web tests, written as a worker would have left them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from models import AccountResult, JobError, JobStatus

#: tests/conftest.py configures this as API_TOKENS.
TOKEN = "test-token-0123456789abcdef"


def make_job(
    user_id: str,
    status: str = "completed",
    *,
    job_id: str | None = None,
    minutes_ago: float = 5,
    accounts: list[tuple[str, str, str]] = (("na", "US", "completed"),),
    error: tuple[str, str] | None = None,
    **fields,
) -> JobStatus:
    """A job of ``user_id`` in ``status`` that finished (or was queued) ``minutes_ago``."""
    now = datetime.now(UTC)
    at = now - timedelta(minutes=minutes_ago)
    record = JobStatus(
        job_id=job_id or str(uuid.uuid4()),
        user_id=user_id,
        status=status,
        trigger="schedule",
        attempts=0 if status == "queued" else 1,
        max_attempts=4,
        queued_at=at - timedelta(seconds=30),
        updated_at=at,
        expires_at=now + timedelta(days=30),
        accounts=[
            AccountResult(
                account_id=f"{user_id}-{country}",
                marketplace_id=f"MP-{country}",
                region=region,
                country=country,
                status=account_status,
                orders_fetched=12 if account_status == "completed" else 0,
                duration_ms=800,
                error=JobError(type="TransientSpApiError", message="getOrders: 503")
                if account_status == "failed"
                else None,
            )
            for region, country, account_status in accounts
        ],
        error=JobError(type=error[0], message=error[1]) if error else None,
    )
    if status != "queued":
        record.started_at = at - timedelta(seconds=20)
        record.worker = "host:1:Thread-1"
    if status in ("completed", "failed"):
        record.duration_ms = 20_000
        setattr(record, f"{status}_at", at)
    for name, value in fields.items():
        setattr(record, name, value)
    return record.save(force_insert=True)
