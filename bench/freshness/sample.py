"""What a freshness sample reads: each user's last successful sync, and the jobs waiting to start."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bench.freshness import INTERVAL_MINUTES


@dataclass
class Sample:
    #: Simulated minutes since the start.
    minute: float
    share_fresh: float
    synced_once: int
    p50_age_minutes: float | None
    p95_age_minutes: float | None
    oldest_waiting_minutes: float
    queued: int
    #: The moment (UTC, ISO) the ages were computed at.
    at: str = ""


def take_sample(user_ids: list[str], minute: float, now: datetime | None = None) -> Sample:
    from models import User
    from services.platform.settings import get_settings

    settings, now = get_settings(), now or datetime.now(UTC)
    interval = settings.sync_interval_minutes * 60
    scale = INTERVAL_MINUTES * 60 / interval  # simulated seconds per real second
    documents = User._get_collection().find({"user_id": {"$in": user_ids}}, {"last_synced_at": 1, "_id": 0})
    ages = sorted((now - d["last_synced_at"]).total_seconds() for d in documents if d.get("last_synced_at"))
    queued, oldest = queue_state(now)
    return Sample(
        minute=round(minute, 2),
        share_fresh=fresh_share(ages, interval, len(user_ids)),
        synced_once=len(ages),
        p50_age_minutes=ages[len(ages) // 2] * scale / 60 if ages else None,
        p95_age_minutes=ages[min(len(ages) - 1, int(len(ages) * 0.95))] * scale / 60 if ages else None,
        oldest_waiting_minutes=oldest * scale / 60,
        queued=queued,
        at=now.isoformat(),
    )


def fresh_share(ages_seconds: list[float], interval_seconds: float, users: int) -> float:
    """The share of ``users`` whose data is younger than the interval (never synced: not fresh)."""
    return sum(1 for age in ages_seconds if age < interval_seconds) / users if users else 0.0


def queue_state(now: datetime) -> tuple[int, float]:
    """Jobs waiting to start (records ``queued``), and the age in real seconds of the oldest.

    Read from the job records, not the Redis list: Dramatiq's consumers prefetch messages (two per
    thread), so an empty list does not mean that no job is waiting.
    """
    from models import JobStatus

    records = JobStatus._get_collection()
    waiting = records.count_documents({"status": "queued"})
    oldest = records.find({"status": "queued"}, {"queued_at": 1, "_id": 0}).sort("queued_at", 1).limit(1)
    first = next(iter(oldest), None) if waiting else None
    return waiting, 0.0 if first is None else max(0.0, (now - first["queued_at"]).total_seconds())


def final_evidence(user_ids: list[str], minute: float) -> dict:
    """A sample with nothing running, and the users' and job records' timestamps behind it."""
    from models import JobStatus, User
    from services.platform.settings import get_settings

    sample = take_sample(user_ids, minute)
    users = User._get_collection().find({"user_id": {"$in": user_ids}}, {"user_id": 1, "last_synced_at": 1})
    synced = {d["user_id"]: d.get("last_synced_at") for d in users}
    jobs: dict[str, datetime] = {}
    completed = JobStatus._get_collection().find(
        {"user_id": {"$in": user_ids}, "status": "completed"}, {"user_id": 1, "completed_at": 1}
    )
    for record in completed:
        if record["user_id"] not in jobs or record["completed_at"] > jobs[record["user_id"]]:
            jobs[record["user_id"]] = record["completed_at"]
    return {
        "sample": asdict(sample),
        "intervalSeconds": get_settings().sync_interval_minutes * 60,
        "lastSyncedAt": {u: t.isoformat() if t else None for u, t in synced.items()},
        "lastCompletedJobAt": {u: t.isoformat() for u, t in jobs.items()},
    }
