"""Orphans: the ``dramatiq`` main process is SIGKILLed mid-wave (an operator's ``kill -9``).

Its two worker processes must not live on as orphans holding messages: each notices the death,
stops, and exits within seconds (actors.parent_watch), so that what they held is retried or
redelivered; a fresh worker then completes every job, each once.
"""

from __future__ import annotations

import signal
import time

import pytest

from actors.parent_watch import DEATH_SIGNAL
from tests.reliability.support import (
    ReportRow,
    alive,
    children,
    completed_once,
    kill,
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

#: The issue's bound, with a margin for a busy machine: orphans exit "within a few seconds".
ORPHANS_EXIT_WITHIN_SECONDS = 10.0


@pytest.mark.timeout(size(240, 900))
def test_worker_processes_of_a_killed_main_process_exit_and_a_fresh_worker_completes_every_job_once(
    make_user, sandbox, topology, producer
):
    # Given a 60-user wave on one dramatiq main process with two worker processes, well under way
    users = make_users(make_user, sandbox, 60, prefix="orphan", latency_ms={"min": 10, "max": 60})
    supervisor = topology()
    main = supervisor.start("worker", worker_command(processes=2, threads=3))
    workers = wait_for(lambda: len(children(main.pid)) == 2 and children(main.pid), timeout=30)
    job_ids = [e.job_id for e in producer.enqueue_users(users, "manual")]
    wait_for(lambda: ledger(job_ids).completed >= 15, timeout=90, interval=0.2)
    # (a stray parent-death signal while the main process lives changes nothing)
    kill(workers[0], DEATH_SIGNAL)
    time.sleep(1.0)
    assert all(alive(pid) for pid in workers)

    # When the main process alone is SIGKILLed (not its process group)
    supervisor.signal("worker", signal.SIGKILL)
    killed = time.monotonic()
    in_flight = ledger(job_ids).by_status

    # Then both orphaned worker processes exit within seconds
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=ORPHANS_EXIT_WITHIN_SECONDS + 5)
    orphans_lived = time.monotonic() - killed
    assert orphans_lived < ORPHANS_EXIT_WITHIN_SECONDS, f"orphans lived {orphans_lived:.1f} s"
    log = topology.log_path.read_text()
    assert "The dramatiq main process" in log and "stopping this worker process" in log

    # And a fresh worker completes every job of the wave, each once
    supervisor.start("worker-2", worker_command(processes=1, threads=6))
    recovered = wait_until_finished(job_ids, timeout=120, interval=0.5)
    outcome = completed_once(job_ids, topology.log_path.read_text())
    # And no account that had completed was fetched again
    assert refetched_accounts(sandbox, users, 1, outcome.extra_attempts_by_user()) == {}
    report(
        ReportRow(
            scenario="Orphans",
            done=(
                f"{len(users)}-user wave on 1 dramatiq main + 2 worker processes; SIGKILL of the main only "
                f"when {in_flight.get('completed', 0)} jobs had completed; a fresh worker started"
            ),
            **outcome.counts(),
            recovery_seconds=recovered,
            notes=f"orphans exited {orphans_lived:.1f} s after the kill",
        )
    )
