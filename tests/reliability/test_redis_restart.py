"""Redis restart: a redis-server with append-only persistence is stopped for 10 s and started again
while jobs wait. Workers, scheduler and web reconnect by themselves (no process restarts); ``/ready``
answers 503 within 2 s while Redis is down; afterwards every job completes.
"""

from __future__ import annotations

import pytest
import redis

from embedded.ports import free_port
from embedded.procfile import read_procfile
from embedded.stack import start_stack
from models import JobStatus
from tests.reliability.support import (
    DOWN_SECONDS,
    ReportRow,
    completed_once,
    ledger,
    make_users,
    outage,
    ready_refused_quickly,
    ready_status,
    report,
    size,
    wait_until_finished,
    worker_command,
)
from tests.support import wait_for

pytestmark = pytest.mark.e2e

#: Milliseconds without a heartbeat before a worker counts as dead. Longer than the outage, as in
#: production (60 s): when Redis comes back, the maintenance of the first broker command would
#: otherwise find every live worker's last heartbeat older than the timeout and requeue the messages
#: they are running (the same job then runs twice at once: this test saw it with 4 s).
HEARTBEAT_TIMEOUT_MS = 30_000


@pytest.mark.timeout(size(480, 3600))
def test_a_redis_restart_with_jobs_waiting_loses_nothing_and_every_process_reconnects_by_itself(
    make_user, sandbox, settings, topology, tmp_path
):
    # Given a persistent redis-server, users due for their first sync, and web, scheduler and workers on it
    job_count = size(100, 1000)
    users = make_users(make_user, sandbox, job_count, prefix="redis", latency_ms={"min": 5, "max": 30})
    stack = start_stack(mongodb_uri=settings.mongodb_uri, storage_path=tmp_path)
    try:
        _run(stack.redis, users, topology, job_count)
    finally:
        topology.stop_all()  # before their Redis goes
        stack.stop()


def _run(server, users, topology, job_count) -> None:
    port = free_port()
    supervisor = topology(
        REDIS_URL=server.url,
        BROKER_HEARTBEAT_TIMEOUT_MS=str(HEARTBEAT_TIMEOUT_MS),
        PORT=str(port),
        WEB_CONCURRENCY="1",
        SCHEDULER_EVERY_SECONDS="2",
        SCHEDULER_LEASE_SECONDS="5",
    )
    commands = read_procfile()
    supervisor.start("web", commands["web"])
    supervisor.start("scheduler", commands["scheduler"])
    # the scheduler's first tick enqueues every user; the workers start once all of them wait
    wait_for(lambda: JobStatus.objects.count() >= len(users), timeout=60)
    supervisor.start("worker", worker_command(processes=2, threads=3))
    job_ids = [r.job_id for r in JobStatus.objects.only("job_id")]
    ready = f"http://127.0.0.1:{port}/ready"
    wait_for(lambda: ready_status(ready)[0] == 200, timeout=30)
    # (counted cheaply: on a busy machine a poll of every record slows the store the jobs need)
    under_way = min(len(job_ids) // 20, 20)
    wait_for(lambda: JobStatus.objects(status="completed").count() >= under_way, timeout=size(60, 300))

    # When Redis is stopped for 10 s, with most jobs still waiting, and started again on its folder
    waiting = len(job_ids) - ledger(job_ids).completed
    answers, recovery = outage(server, ready)

    # Then /ready answered 503 quickly all along
    slowest = ready_refused_quickly(answers)
    # And every job completes, each once, with no process restarted
    wait_until_finished(job_ids, size(300, 1800))
    recovered = recovery.seconds()
    wait_for(lambda: ready_status(ready)[0] == 200, timeout=10)
    outcome = completed_once(job_ids, topology.log_path.read_text())
    assert len(job_ids) == job_count
    # (a tick may read a user just before its sync ends and enqueue it again: a new job, counted apart)
    resynced = JobStatus.objects(job_id__nin=job_ids)
    assert all(r.status in ("completed", "queued", "running") for r in resynced)
    for supervised in supervisor.processes.values():
        assert supervised.alive() and supervised.starts == 1, supervised
    # And the scheduler ticks again on the restarted Redis
    ticks = len(_ticks(topology))
    wait_for(lambda: len(_ticks(topology)) > ticks, timeout=15)
    client = redis.Redis.from_url(server.url)
    assert client.ping()
    report(
        ReportRow(
            scenario="Redis restart",
            done=(
                f"redis-server (appendonly) stopped for {DOWN_SECONDS:g} s and restarted with {waiting} of "
                f"{len(job_ids)} jobs waiting; web, scheduler, 2 worker processes left running"
            ),
            **outcome.counts(),
            recovery_seconds=recovered,
            notes=(
                f"/ready 503 in at most {slowest:.2f} s while down; no process restarted; "
                f"{resynced.count()} users enqueued again by a tick that read them as their sync ended"
            ),
        )
    )


def _ticks(topology) -> list[str]:
    return [line for line in topology.log_path.read_text().splitlines() if "Tick: " in line]
