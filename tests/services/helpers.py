"""Helpers of the SP-API integration tests."""

from __future__ import annotations

from datetime import datetime

from models import JobStatus

US = "ATVPDKIKX0DER"


def finished(job_id: str) -> JobStatus | None:
    record = JobStatus.objects(job_id=job_id).first()
    return record if record and record.status in ("completed", "failed", "cancelled") else None


def book(sandbox, seller: str, now: datetime) -> list:
    """The sandbox's orders of ``seller`` in the US marketplace (purchased up to ``now``)."""
    return [o for o in sandbox.state.sellers.orders(seller, US, now).orders if o.purchase <= now]
