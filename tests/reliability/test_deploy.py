"""Deploy: every process of the Procfile gets SIGTERM, as a platform sends it before a new release.

A worker with jobs in flight stops within its shutdown timeout: each running job is interrupted and
requeued (retried), and resumes after its finished accounts on the next worker; nothing is lost.
``web`` and ``scheduler`` stop cleanly, and the stopping scheduler's lease goes at once to another.
"""

from __future__ import annotations

import signal
import time

import pytest
import requests

from embedded.ports import free_port
from embedded.procfile import read_procfile
from services.platform.redis_pool import key
from tests.reliability.support import (
    ReportRow,
    Stopwatch,
    completed_once,
    ledger,
    make_users,
    refetched_accounts,
    report,
    size,
    wait_until_finished,
    worker_command,
)
from tests.support import wait_for

pytestmark = pytest.mark.e2e

#: The worker's --worker-shutdown-timeout (ms): a stop must not take longer (plus a margin).
SHUTDOWN_TIMEOUT_MS = 15_000
#: The scheduler lease (s): a follower campaigns every fifth of it; the key expires after 4/5 of it.
LEASE_SECONDS = 10.0


@pytest.mark.timeout(size(180, 600))
def test_a_worker_stopped_with_jobs_in_flight_requeues_them_and_the_next_worker_resumes_them(
    make_user, sandbox, topology, producer
):
    # Given a worker busy with jobs of users with 3 slow accounts each, some accounts already done
    users = make_users(make_user, sandbox, size(12, 60), prefix="deploy", latency_ms={"min": 60, "max": 150})
    users = [u for i, u in enumerate(users) if i % 3 == 2]  # the users with 3 accounts
    supervisor = topology()
    supervisor.start(
        "worker", worker_command(processes=1, threads=3, shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS)
    )
    job_ids = [e.job_id for e in producer.enqueue_users(users, "manual")]
    wait_for(lambda: ledger(job_ids).by_status.get("running", 0) >= 2, timeout=60)
    time.sleep(1.0)  # into their accounts

    # When the platform sends SIGTERM to the worker
    stopping = Stopwatch()
    supervisor.signal("worker", signal.SIGTERM)
    code = supervisor.processes["worker"].process.wait(timeout=SHUTDOWN_TIMEOUT_MS / 1000 + 15)
    stop_seconds = stopping.seconds()

    # Then it exits cleanly within the shutdown timeout, leaving no job running
    assert code == 0
    assert stop_seconds < SHUTDOWN_TIMEOUT_MS / 1000 + 5
    at_stop = ledger(job_ids).by_status
    assert at_stop.get("running", 0) == 0, at_stop
    interrupted = at_stop.get("retrying", 0)

    # And the next worker completes every job, resuming after the finished accounts
    supervisor.start("worker-2", worker_command(processes=1, threads=3))
    recovered = wait_until_finished(job_ids, timeout=120, interval=0.05)
    outcome = completed_once(job_ids, topology.log_path.read_text())
    assert interrupted >= 1 and sum(outcome.extra_attempts_by_user().values()) >= interrupted
    assert refetched_accounts(sandbox, users, 1, outcome.extra_attempts_by_user()) == {}
    report(
        ReportRow(
            scenario="Deploy (worker SIGTERM)",
            done=(
                f"SIGTERM to a worker running jobs of {len(users)} users with 3 slow accounts each; "
                f"{interrupted} jobs interrupted and requeued; a new worker started"
            ),
            **outcome.counts(),
            recovery_seconds=recovered,
            notes=f"worker stopped in {stop_seconds:.1f} s (exit 0); finished accounts not fetched again",
        )
    )


def test_web_and_scheduler_stop_cleanly_on_sigterm_and_the_lease_goes_at_once_to_another_scheduler(
    settings, redis_client, topology
):
    # Given web (gunicorn) answering, and two schedulers of which the first leads
    port = free_port()
    supervisor = topology(PORT=str(port), WEB_CONCURRENCY="1", SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS))
    commands = read_procfile()
    supervisor.start("web", commands["web"])
    supervisor.start("scheduler", commands["scheduler"])
    lease = key(settings, "scheduler", "leader")
    leader = supervisor.processes["scheduler"].pid
    wait_for(lambda: (redis_client.get(lease) or b"").decode().split(":")[1:2] == [str(leader)], timeout=30)
    supervisor.start("scheduler-2", commands["scheduler"])
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/ready"), timeout=30)
    time.sleep(LEASE_SECONDS / 5)  # the follower has campaigned (and lost) at least once

    # When both get SIGTERM
    handover = Stopwatch()
    supervisor.signal("scheduler", signal.SIGTERM)
    supervisor.signal("web", signal.SIGTERM)

    # Then the second scheduler holds the lease long before the first one's would have expired
    follower = supervisor.processes["scheduler-2"].pid
    wait_for(lambda: (redis_client.get(lease) or b"").decode().split(":")[1:2] == [str(follower)], timeout=10)
    took = handover.seconds()
    assert took < LEASE_SECONDS * 4 / 5, f"the lease expired instead of being handed over ({took} s)"
    # And both stopped cleanly (exit 0), the scheduler saying so
    assert supervisor.processes["scheduler"].process.wait(timeout=20) == 0
    assert supervisor.processes["web"].process.wait(timeout=40) == 0
    log = topology.log_path.read_text()
    assert "Released the scheduler lease" in log and "Scheduler stopped." in log
    assert "Traceback" not in log
    report(
        ReportRow(
            scenario="Deploy (web, scheduler SIGTERM)",
            done="SIGTERM to gunicorn and to the leading scheduler, with a second scheduler running",
            jobs_in=0,
            completed=0,
            lost=0,
            duplicated=0,
            recovery_seconds=took,
            notes=f"both exit 0; lease handed over in {took:.1f} s (expiry: {LEASE_SECONDS * 0.8:g} s)",
        )
    )


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
