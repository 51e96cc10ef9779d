"""Scheduler processes: several replicas, a killed leader, SIGTERM, exit codes.

Each process runs ``tests.cron.cron_support``: it seeds the same users in its own in-memory store,
then runs ``cron.scheduler.main``. Results are observed in the shared Redis.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from cron.leader import POLLS_PER_PERIOD
from services.platform.redis_pool import key
from tests.cron.cron_support import active_user_ids, queued_user_ids, seeded_ids
from tests.support import settings_env, start_child, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TICK = re.compile(r"Tick: (\d+) due, (\d+) enqueued, (\d+) deduplicated")


def scheduler_env(settings, **extra: str) -> dict[str, str]:
    return settings_env(settings, PYTHONUNBUFFERED="1", **extra)


def start(settings, tmp_path: Path, name: str, *args: str, users: int = 0, wait_go: bool = False):
    """A scheduler process with seeded users; its log (stderr) goes to ``tmp_path/<name>.log``."""
    command = [sys.executable, "-m", "tests.cron.cron_support", "--users", str(users)]
    if wait_go:
        command.append("--wait-go")
    log = (tmp_path / f"{name}.log").open("w")
    process = start_child(
        [*command, "--", *args],
        cwd=ROOT,
        env=scheduler_env(settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    process.log_path = tmp_path / f"{name}.log"  # type: ignore[attr-defined]
    return process


def log_of(process) -> str:
    return process.log_path.read_text()


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_three_schedulers_one_tick_enqueue_each_due_user_once(settings, redis_client, tmp_path, processes):
    # Given three scheduler processes over the same 200 due users, seeded and waiting
    expected = seeded_ids(200)
    for name in ("a", "b", "c"):
        processes.append(start(settings, tmp_path, name, "--once", users=200, wait_go=True))
    for process in processes:
        assert process.stdout.readline().strip() == "ready", log_of(process)

    # When all three tick at the same moment
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.close()
    codes = [process.wait(timeout=30) for process in processes]

    # Then each due user is on the queue exactly once, and the ticks' enqueued counts add up to 200
    assert codes == [0, 0, 0], [log_of(p) for p in processes]
    queued = queued_user_ids(redis_client, settings)
    assert Counter(queued) == Counter(expected)
    assert active_user_ids(redis_client, settings) == set(expected)
    ticks = [TICK.search(log_of(p)) for p in processes]
    assert sum(int(t.group(2)) for t in ticks if t) == 200
    assert sum(1 for t in ticks if t and int(t.group(2)) > 0) == 1  # one leader did the work
    assert redis_client.get(key(settings, "scheduler", "leader")) is None  # released on exit


def test_a_killed_leader_is_replaced_within_one_lease_period(settings, redis_client, tmp_path, processes):
    # Given a leader and a follower, ticking every second with a 1.5 s lease
    lease, lease_key = 1.5, key(settings, "scheduler", "leader")
    args = ("--every", "1", "--lease-seconds", str(lease))
    leader = start(settings, tmp_path, "leader", *args, users=20)
    processes.append(leader)
    wait_for(lambda: (redis_client.get(lease_key) or b"").decode().split(":")[1:2] == [str(leader.pid)])
    wait_for(lambda: "Tick: 20 due, 20 enqueued" in log_of(leader), timeout=10)
    follower = start(settings, tmp_path, "follower", *args, users=20)
    processes.append(follower)
    wait_for(lambda: "another scheduler is the leader" in log_of(follower), timeout=15)

    # When the leader is killed without a chance to release its lease
    leader.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: (redis_client.get(lease_key) or b"").decode().split(":")[1:2] == [str(follower.pid)])
    took_over_after = time.monotonic() - killed_at
    print(f"lease {lease} s: the follower took over {took_over_after:.2f} s after the SIGKILL")

    # Then the follower holds the lease within one lease period (plus scheduling slack) and ticks
    assert took_over_after <= lease + 0.5, took_over_after
    wait_for(lambda: "Became the scheduler leader" in log_of(follower), timeout=5)
    wait_for(lambda: "Tick: 0 due" in log_of(follower), timeout=5)  # everyone already has a job
    assert Counter(queued_user_ids(redis_client, settings)) == Counter(seeded_ids(20))


def test_sigterm_stops_cleanly_and_releases_the_lease(settings, redis_client, tmp_path, processes):
    # Given a running scheduler that holds the lease
    lease_key = key(settings, "scheduler", "leader")
    process = start(settings, tmp_path, "solo", "--lease-seconds", "30")
    processes.append(process)
    wait_for(lambda: redis_client.get(lease_key) is not None)
    wait_for(lambda: "Scheduler started" in log_of(process))

    # When it receives SIGTERM
    process.send_signal(signal.SIGTERM)

    # Then it exits 0 at once and frees the lease for a follower
    assert process.wait(timeout=10) == 0, log_of(process)
    assert redis_client.get(lease_key) is None
    assert "Scheduler stopped" in log_of(process)


def run_once(env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m cron.scheduler --once`` in ``env``, its output captured."""
    command = [sys.executable, "-m", "cron.scheduler", "--once"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_a_malformed_setting_stops_the_scheduler_with_one_line(settings):
    # Given a malformed SYNC_CRON
    env = scheduler_env(settings, SYNC_CRON="every hour")

    # When the scheduler starts
    done = run_once(env)

    # Then it exits 2 with one line naming the setting
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "SYNC_CRON" in done.stderr


def test_once_exits_non_zero_when_the_tick_fails(settings):
    # Given a Redis that cannot be reached
    env = scheduler_env(settings, REDIS_URL="redis://127.0.0.1:9/0")

    # When one tick runs
    done = run_once(env)

    # Then it exits non-zero and says why
    assert done.returncode == 1, done.stderr
    assert "The tick failed" in done.stderr


def test_lease_polls_are_a_fraction_of_the_period():
    assert POLLS_PER_PERIOD >= 3  # at least one spare renewal between two expiries
