"""A worker killed with SIGKILL mid-job loses nothing: the broker redelivers and another worker finishes.

The first worker is the real ``dramatiq`` CLI in a subprocess, on the store the test shares with it;
the finishing worker is an in-thread worker of this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import dramatiq
import pytest
from dramatiq.brokers.redis import MAINTENANCE_SCALE

from models import JobStatus
from services.sync.processing import done_key
from tests.support import settings_env, start_child, wait_for

pytestmark = pytest.mark.e2e

CRASH_USER = "u-crash"
#: Processed in this order (region, country): DE first, then US.
CRASH_ACCOUNTS = (("DE", "crash-de"), ("US", "crash-us"))


def test_a_job_killed_mid_way_is_redelivered_and_completed_by_another_worker(
    broker, make_user, sandbox, settings, redis_client, tmp_path, producer
):
    # Given the crash user, whose second account (US) answers slowly, and a CLI worker
    make_user(CRASH_USER, list(CRASH_ACCOUNTS))
    sandbox.state.set_faults("crash-us", [{"latencyMs": 800}])
    log = (tmp_path / "worker.log").open("w")
    process = start_child(
        [sys.executable, "-m", "dramatiq", "actors", "--processes", "1", "--threads", "1",
         "--path", "."],
        env=settings_env(settings, BROKER_HEARTBEAT_TIMEOUT_MS="1500"),  # its job lease: 750 ms
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        # When the job is enqueued and the worker is killed after its first account (DE), mid-way in US
        enqueued = producer.enqueue_user(CRASH_USER)
        wait_for(lambda: redis_client.hexists(done_key(settings, enqueued.job_id), "A1PA6795UKMFR9"), 30)
        wait_for(lambda: "crash-us" in sandbox.state.get_stats())
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    de_calls = sandbox.state.get_stats()["crash-de"]["getOrders"]["served"]
    sandbox.state.set_faults("crash-us", [])

    # Then a live worker, once the dead one's heartbeat is stale, gets the message again and completes it
    heartbeat, chance = broker.heartbeat_timeout, broker.maintenance_chance
    broker.heartbeat_timeout, broker.maintenance_chance = 1500, MAINTENANCE_SCALE
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        record = wait_for(
            lambda: JobStatus.objects(job_id=enqueued.job_id, status="completed").first(), timeout=45
        )
    finally:
        worker.stop()
        broker.heartbeat_timeout, broker.maintenance_chance = heartbeat, chance

    # And the account the killed worker had finished was not fetched again
    assert sandbox.state.get_stats()["crash-de"]["getOrders"]["served"] == de_calls == 1
    assert sandbox.state.get_stats()["crash-us"]["getOrders"]["served"] >= 1
    assert [(a.country, a.status) for a in record.accounts] == [("DE", "completed"), ("US", "completed")]
    # And the record counts the killed worker's attempt
    assert record.attempts == 2
    assert (tmp_path / "worker.log").read_text().count(" started (retry 0)") == 1
