"""The real topology of ``make dev``: release, then web, worker (the ``dramatiq`` CLI, 2 processes) and
scheduler as separate supervised processes on the test's Redis, document server and sandbox.

One worker process is SIGKILLed mid-job. The ``dramatiq`` main process then stops its other worker
process and exits, the supervisor restarts it as a PaaS restarts a dyno, and the killed process's
messages are redelivered once its heartbeat is stale. Every job must complete exactly once, and no
account that had completed may be fetched again.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from devmode.topology import start
from models import JobStatus, SellerAccount
from services.operations.demo import seed_demo_users
from services.platform.settings import configure
from services.sync.processing import done_key
from tests.support import wait_for

pytestmark = pytest.mark.e2e

USERS = 50
#: Each SP-API answer of every demo seller is delayed so that jobs are mid-way when the kill comes.
LATENCY_MS = 40


def worker_children(pid: int) -> list[int]:
    """The worker processes that a ``dramatiq`` main process started."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


@pytest.fixture
def topology(settings, sandbox, broker, tmp_path):
    lines: list[tuple[str, str]] = []
    log = (tmp_path / "topology.log").open("w")
    running = start(
        settings,
        out=log,
        say=lambda line: None,
        # A stale heartbeat after 2 s, checked on every broker command: redelivery within seconds.
        extra_env={"BROKER_HEARTBEAT_TIMEOUT_MS": "2000", "BROKER_MAINTENANCE_CHANCE": "1000000"},
    )
    running.supervisor.on_line = lambda name, line: lines.append((name, line))
    try:
        yield running, lines
    finally:
        running.supervisor.stop(timeout=20)
        log.close()
        configure(settings)  # start() installed dev mode's settings in this process too


def test_fifty_users_sync_exactly_once_through_a_worker_process_killed_mid_job(
    topology, sandbox, settings, redis_client, producer
):
    running, lines = topology
    # Given 50 demo users whose sandbox sellers answer slowly
    user_ids = seed_demo_users(USERS, settings=settings)
    sellers = {a.seller_id: a for a in SellerAccount.objects(user_id__in=user_ids)}
    for seller in sellers:
        sandbox.state.set_faults(seller, [{"latencyMs": LATENCY_MS}])
    worker = running.supervisor.processes["worker"]
    wait_for(lambda: len(worker_children(worker.pid)) == 2, timeout=30)

    # When every user is enqueued once, and one worker process is SIGKILLed with jobs in flight
    enqueued = {e.job_id: e.user_id for e in producer.enqueue_users(user_ids, trigger="demo")}
    wait_for(lambda: JobStatus.objects(job_id__in=list(enqueued), status="completed").count() >= 5, 60)
    wait_for(lambda: JobStatus.objects(job_id__in=list(enqueued), status="running").count() >= 2, 30)
    done_before = accounts_done(settings, redis_client, list(enqueued))
    fetched_before = {seller: orders_served(sandbox, seller) for seller in done_before}
    victim = worker_children(worker.pid)[0]
    os.kill(victim, signal.SIGKILL)

    # Then the worker is restarted and every job completes
    wait_for(lambda: worker.starts == 2, timeout=30)
    wait_for(
        lambda: JobStatus.objects(job_id__in=list(enqueued), status="completed").count() == USERS,
        timeout=180,
        interval=0.5,
    )
    records = list(JobStatus.objects(job_id__in=list(enqueued)))
    assert sorted(r.user_id for r in records) == sorted(user_ids)
    assert all(r.error is None for r in records)
    # And each exactly once: one "completed" line per job, over every worker process's output
    completions = Counter(
        m.group(1)
        for name, line in lines
        if (m := re.search(r"Job ([0-9a-f-]{36}) for user \S+ completed", line))
    )
    assert set(completions) == set(enqueued) and set(completions.values()) == {1}
    # And the jobs the killed process held were attempted again, and say so
    assert any(r.attempts == 2 for r in records)
    # And no account that had completed before the kill was fetched again
    assert done_before, "the kill came before any account had completed"
    assert {seller: orders_served(sandbox, seller) for seller in done_before} == fetched_before


def accounts_done(settings, redis_client, job_ids: list[str]) -> set[str]:
    """The sellers whose accounts a job has recorded as finished (its done-accounts hash)."""
    sellers = set()
    for job_id in job_ids:
        record = JobStatus.objects(job_id=job_id).only("user_id").first()
        for marketplace in redis_client.hkeys(done_key(settings, job_id)):
            account = SellerAccount.objects(
                user_id=record.user_id, marketplace_id=marketplace.decode()
            ).first()
            sellers.add(account.seller_id)
    return sellers


def orders_served(sandbox, seller: str) -> int:
    return sandbox.state.get_stats().get(seller, {}).get("getOrders", {}).get("served", 0)
