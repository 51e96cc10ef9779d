"""Chaos: jobs through two worker processes while a loop SIGKILLs a random one every few seconds.

The same waves run twice on fixed-data sandbox sellers: first with no crash, then under the chaos
loop. Every job must complete once, its attempts must count the killed ones, the stored data must be
the same as without crashes, and no account that had completed may be fetched again.
"""

from __future__ import annotations

import random
import re
import signal
import threading
from collections import Counter

import pytest

from tests.reliability.support import (
    FULL,
    ReportRow,
    Stopwatch,
    children,
    completed_once,
    content_differences,
    forget_synced_data,
    kill,
    make_users,
    refetched_accounts,
    report,
    size,
    stored_content,
    wait_until_finished,
    worker_command,
)

pytestmark = pytest.mark.e2e

WORKERS = ("worker.1", "worker.2")
#: Seconds between two kills: a random pause in this range.
KILL_EVERY = (2.0, 5.0) if FULL else (1.5, 3.0)
#: A new attempt's start (a quota wait's resumption is the same attempt, and logged otherwise).
STARTED = re.compile(r"Job (\S+) for user \S+ started \(retry \d+\), fencing token \d+\.")


def run_waves(waves: list[list[str]], timeout: float, producer) -> list[str]:
    """Enqueue each wave once the previous one has finished (one job per user at a time)."""
    job_ids: list[str] = []
    for wave in waves:
        wave_ids = [e.job_id for e in producer.enqueue_users(wave, "manual")]
        assert len(set(wave_ids)) == len(wave), "a user already had a job in flight"
        wait_until_finished(wave_ids, timeout, interval=0.5)
        job_ids += wave_ids
    return job_ids


class ChaosLoop(threading.Thread):
    """SIGKILLs a random worker process (a child of a ``dramatiq`` main) every few seconds; the
    supervisor restarts the ``dramatiq`` main, which exits once one of its workers died."""

    def __init__(self, supervisor) -> None:
        super().__init__(name="chaos", daemon=True)
        self.supervisor = supervisor
        self.stop = threading.Event()
        self.kills: list[int] = []
        self.rng = random.Random(10)

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(*KILL_EVERY)):
            main = self.supervisor.processes[self.rng.choice(WORKERS)]
            if not main.alive():
                continue
            for pid in children(main.pid)[:1]:
                if kill(pid, signal.SIGKILL):
                    self.kills.append(pid)


@pytest.mark.timeout(size(300, 3600))
def test_jobs_survive_random_worker_kills_complete_once_and_store_what_a_crash_free_run_stores(
    make_user, sandbox, topology, settings, redis_client, producer
):
    # Given users with 1-3 fixed-data sandbox accounts each, answering with latency, in waves
    user_count, job_count = size(20, 200), size(40, 500)
    users = make_users(make_user, sandbox, user_count, prefix="chaos", latency_ms={"min": 10, "max": 80})
    waves = [users[: min(user_count, job_count - i)] for i in range(0, job_count, user_count)]
    supervisor = topology()
    for name in WORKERS:
        supervisor.start(name, worker_command(processes=1, threads=3), restart=True)

    # And the content of a run without crashes
    run_waves(waves, timeout=size(120, 600), producer=producer)
    clean = stored_content(settings, redis_client)
    clean_calls = sandbox.state.get_stats()
    forget_synced_data(settings, redis_client)
    sandbox.state.stats.reset()

    # When the same waves run while a chaos loop SIGKILLs a random worker process every few seconds
    chaos = ChaosLoop(supervisor)
    clock = Stopwatch()
    chaos.start()
    try:
        job_ids = run_waves(waves, timeout=size(240, 1200), producer=producer)
    finally:
        chaos.stop.set()
        chaos.join()
    elapsed = clock.seconds()

    # Then every job completed, each exactly once
    log = topology.log_path.read_text()
    outcome = completed_once(job_ids, log)
    assert len(job_ids) == job_count
    assert len(chaos.kills) >= 3
    # And attempts count the killed attempts: every logged start is counted, and kills cost attempts
    starts = Counter(m.group(1) for m in STARTED.finditer(log) if m.group(1) in outcome.attempts)
    assert all(outcome.attempts[j] >= starts[j] for j in job_ids)
    extra = outcome.extra_attempts_by_user()
    assert sum(extra.values()) >= 1, "no kill hit a running job"
    # And the stored orders, metrics, inventory, analyses and cache are those of the crash-free run
    differences = content_differences(clean, stored_content(settings, redis_client))
    assert differences == {}, f"the stored data differs from the clean run: {differences}"
    # And no account that had completed was fetched again
    assert refetched_accounts(sandbox, users, Counter(u for wave in waves for u in wave), extra) == {}
    assert clean_calls  # the clean run was counted too

    report(
        ReportRow(
            scenario="Chaos",
            done=(
                f"{job_count} jobs of {user_count} users (1-3 sandbox accounts each, 10-80 ms latency) "
                f"through 2 worker processes; {len(chaos.kills)} SIGKILLs of a random worker process "
                f"every {KILL_EVERY[0]:g}-{KILL_EVERY[1]:g} s, each restarted"
            ),
            **outcome.counts(),
            recovery_seconds=None,
            notes=(
                f"{sum(extra.values())} killed attempts counted; content identical to the crash-free run; "
                f"run took {elapsed:.0f} s"
            ),
        )
    )
