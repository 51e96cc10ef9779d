"""How many workers the user count needs, from the jobs' own measured durations (``sellersync capacity``).

The seed sized workers with a fixed formula (``ceil(users / 1000) × 2`` processes of 3 threads). Here
the figures come from the last 24 h of job records instead:

- the jobs measured: completed or failed in the window, with a duration (their last attempt's);
- p50 and p95 of those durations (nearest rank: the smallest duration that ``p`` % of jobs do not
  exceed), accounts per job, the retry rate (jobs that needed more than one attempt) and attempts per
  job, and the number of sync-enabled users.

The plan sizes one hourly wave on p95 (so a wave of slow users still finishes in time):

    users per wave = ceil(sync-enabled users × min(1, 60 / SYNC_INTERVAL_MINUTES))
    work           = users per wave × attempts per job × p95 seconds
    threads        = ceil(work / target seconds)
    processes      = ceil(threads / WORKER_CONCURRENCY)

What workers cannot change is one user's own job: SP-API quotas are per seller (and application), so
a seller with many orders waits for Amazon's tokens however many threads are free. The plan says so
when p95 alone exceeds the target, and :func:`quota_limits` spells out each operation's pace.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from models import JobStatus, User, utcnow
from services.platform.settings import Settings
from services.sync.quotas import USAGE_PLANS

#: The window of job records measured.
WINDOW = timedelta(hours=24)
#: Orders per getOrders page (MaxResultsPerPage=100).
ORDERS_PER_PAGE = 100


@dataclass(frozen=True)
class Measured:
    #: Jobs completed or failed in the window with a duration: the sample.
    jobs: int
    p50_seconds: float | None
    p95_seconds: float | None
    max_seconds: float | None
    #: Mean number of seller accounts of a measured job (one job = one user).
    accounts_per_user: float | None
    #: Share of measured jobs that needed more than one attempt.
    retry_rate: float | None
    #: Mean attempts of a measured job (1.0: no retries).
    attempts_per_job: float | None
    #: Measured jobs that handed their worker back at least once to wait for an SP-API quota token.
    jobs_with_quota_waits: int
    sync_enabled_users: int


@dataclass(frozen=True)
class Plan:
    users: int
    users_per_wave: int
    within_seconds: float
    seconds_per_job: float
    work_seconds: float
    threads: int
    threads_per_process: int
    processes: int
    #: False when one p95 job alone takes longer than the target: workers cannot help.
    feasible: bool
    arithmetic: list[str]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value that at least ``p`` % of ``values`` do not exceed."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def measure(*, now: datetime | None = None, window: timedelta = WINDOW) -> Measured:
    """Read the last ``window`` of finished job records and the number of sync-enabled users."""
    since = (now or utcnow()) - window
    query = {
        "status": {"$in": ["completed", "failed"]},
        "updated_at": {"$gte": since},
        "duration_ms": {"$ne": None},
    }
    # Only four figures a job leave the server: a day of records at 10,000 users is 240,000 jobs.
    project = {
        "_id": 0,
        "duration_ms": 1,
        "attempts": 1,
        "quota_waits": 1,
        "accounts": {"$size": {"$ifNull": ["$accounts", []]}},
    }
    durations, attempts, accounts, waited = [], [], [], 0
    for record in JobStatus._get_collection().aggregate([{"$match": query}, {"$project": project}]):
        durations.append(record["duration_ms"] / 1000)
        attempts.append(max(1, record.get("attempts") or 1))
        accounts.append(record["accounts"])
        waited += 1 if record.get("quota_waits") else 0
    enabled = User.objects(sync_enabled=True).count()
    n = len(durations)
    if not n:
        return Measured(0, None, None, None, None, None, None, 0, enabled)
    return Measured(
        jobs=n,
        p50_seconds=percentile(durations, 50),
        p95_seconds=percentile(durations, 95),
        max_seconds=max(durations),
        accounts_per_user=sum(accounts) / n,
        retry_rate=sum(1 for a in attempts if a > 1) / n,
        attempts_per_job=sum(attempts) / n,
        jobs_with_quota_waits=waited,
        sync_enabled_users=enabled,
    )


def plan(
    measured: Measured, settings: Settings, within_seconds: float, users: int | None = None
) -> Plan | None:
    """The workers one hourly wave of ``users`` (default: the sync-enabled users) needs; None unmeasured."""
    if measured.p95_seconds is None or measured.attempts_per_job is None:
        return None
    users = measured.sync_enabled_users if users is None else users
    interval = settings.sync_interval_minutes
    share = min(1.0, 60 / interval)
    per_wave = math.ceil(users * share)
    per_job = measured.attempts_per_job * measured.p95_seconds
    work = per_wave * per_job
    threads = math.ceil(work / within_seconds) if work else 0
    per_process = settings.worker_concurrency
    processes = math.ceil(threads / per_process)
    arithmetic = [
        f"users per wave = ceil({users:,} users × min(1, 60 / {interval} min)) = {per_wave:,}",
        f"work per wave  = {per_wave:,} jobs × {measured.attempts_per_job:.2f} attempts × p95 "
        f"{measured.p95_seconds:,.1f} s = {work:,.1f} s",
        f"threads        = ceil({work:,.1f} s / {within_seconds:,.0f} s) = {threads:,}",
        f"processes      = ceil({threads:,} threads / WORKER_CONCURRENCY {per_process}) = {processes:,}",
    ]
    return Plan(
        users=users,
        users_per_wave=per_wave,
        within_seconds=within_seconds,
        seconds_per_job=per_job,
        work_seconds=work,
        threads=threads,
        threads_per_process=per_process,
        processes=processes,
        feasible=measured.p95_seconds <= within_seconds,
        arithmetic=arithmetic,
    )


def quota_limits() -> list[str]:
    """What paces one seller's sync whatever the number of workers: Amazon's per-seller usage plans."""
    orders = USAGE_PLANS["getOrders"]
    lines = [
        f"getOrders: {orders.burst} pages ({orders.burst * ORDERS_PER_PAGE:,} orders) at once, then one page "
        f"of {ORDERS_PER_PAGE} every {1 / orders.rate:,.0f} s: a seller with 10,000 changed orders needs "
        f"{_pages_seconds(100, orders.rate, orders.burst) / 60:,.0f} min for orders alone",
    ]
    for operation in ("getOrderMetrics", "getInventorySummaries", "getOrderItems"):
        usage = USAGE_PLANS[operation]
        lines.append(f"{operation}: {usage.burst} calls at once, then one every {1 / usage.rate:,.1f} s")
    return lines


def _pages_seconds(pages: int, rate: float, burst: int) -> float:
    return max(0, pages - burst) / rate


def report(
    settings: Settings,
    within_seconds: float,
    *,
    users: int | None = None,
    live_workers: Callable[[], int] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything ``sellersync capacity`` prints, as one JSON-ready dict."""
    measured = measure(now=now)
    sized = plan(measured, settings, within_seconds, users)
    return {
        "windowHours": WINDOW.total_seconds() / 3600,
        "measured": asdict(measured),
        "plan": asdict(sized) if sized else None,
        "liveWorkerProcesses": live_workers() if live_workers else None,
        "perUserLimits": quota_limits(),
    }
