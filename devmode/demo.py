"""Dev mode's demo: seed the demo users, enqueue each once, and report each job as it finishes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def sync_demo_users(
    producer, stop: threading.Event, say: Callable[[str], None] = print, sandbox: Any = None
) -> dict[str, Any]:
    """Create the demo users, enqueue each once, report progress until all finished; returns a summary."""
    from models import JobStatus
    from models.jobs import FINISHED_STATUSES
    from services.operations.demo import demo_summary, seed_demo_users

    settings = producer.settings
    user_ids = seed_demo_users(settings.demo_users, settings=settings)
    say(f"Demo: {demo_summary()}; syncing each once…")
    started = time.monotonic()
    job_ids = {e.job_id: e.user_id for e in producer.enqueue_users(user_ids, trigger="demo")}
    reported: set[str] = set()
    while len(reported) < len(job_ids) and not stop.is_set():
        for record in JobStatus.objects(job_id__in=list(job_ids), status__in=list(FINISHED_STATUSES)):
            if record.job_id in reported:
                continue
            reported.add(record.job_id)
            say(progress_line(record, len(reported), len(job_ids)))
        stop.wait(0.2)
    records = list(JobStatus.objects(job_id__in=list(job_ids)))
    summary = {
        "users": len(job_ids),
        "completed": sum(1 for r in records if r.status == "completed"),
        "failed": sum(1 for r in records if r.status == "failed"),
        "seconds": round(time.monotonic() - started, 2),
        "spApiCalls": sandbox_calls(sandbox),
    }
    calls = f", {summary['spApiCalls']} SP-API calls" if summary["spApiCalls"] is not None else ""
    say(
        f"Demo sync: {summary['completed']}/{summary['users']} users completed, {summary['failed']} failed, "
        f"in {summary['seconds']:.1f} s{calls}."
    )
    return summary


def progress_line(record, done: int, total: int) -> str:
    orders = sum(a.orders_fetched or 0 for a in record.accounts)
    accounts = ", ".join(f"{a.region}/{a.country} {a.status}" for a in record.accounts)
    note = f" ({record.error.type}: {record.error.message})" if record.error else ""
    return (
        f"[{done:>3}/{total}] {record.user_id} {record.status} in {(record.duration_ms or 0) / 1000:.1f} s, "
        f"{orders} orders: {accounts}{note}"
    )


def sandbox_calls(sandbox) -> int | None:
    """SP-API calls the sandbox answered (LWA token exchanges aside), or None without a local sandbox."""
    if sandbox is None:
        return None
    return sum(
        counts["served"] + counts["throttled"] + counts["failed"]
        for operations in sandbox.state.get_stats().values()
        for operation, counts in operations.items()
        if operation != "lwaToken"
    )
