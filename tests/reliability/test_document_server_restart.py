"""Document-server restart: the store (SecantusDB on a storage folder, not in memory) is stopped for
10 s and started again while jobs wait and run. Jobs that were running are retried; every status
record ends true; no process dies and no exception escapes unlogged; ``/ready`` answers 503 within
2 s while the store is down.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pymongo
import pytest

from embedded.ports import free_port
from embedded.procfile import read_procfile
from embedded.stack import start_stack
from tests.reliability.support import (
    DOWN_SECONDS,
    ReportRow,
    completed_once,
    ledger,
    outage,
    ready_refused_quickly,
    ready_status,
    report,
    set_up_sellers,
    size,
    wait_until_finished,
    worker_command,
)
from tests.support import settings_env, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: Lines that would show an exception nobody handled (a thread's or a process's death).
UNHANDLED = (
    "Exception in thread",
    "Unhandled exception in thread",
    "Traceback (most recent call last):\nSystemExit",
)


@pytest.mark.timeout(size(480, 3600))
def test_a_document_server_restart_loses_no_job_and_leaves_every_record_true(
    settings, sandbox, topology, tmp_path
):
    # Given a document server on a storage folder with the indexes (the release step) and due users
    job_count = size(80, 1000)
    stack = start_stack(redis_url=settings.redis_url, database="sellersync-restart", storage_path=tmp_path)
    try:
        _run(stack.documents, settings, sandbox, topology, tmp_path, job_count)
    finally:
        topology.stop_all()  # before their store goes
        stack.stop()


def _run(server, settings, sandbox, topology, tmp_path, job_count) -> None:
    users = set_up_sellers(sandbox, "docs", job_count, latency_ms={"min": 5, "max": 30})
    env = {"MONGODB_URI": server.uri}
    subprocess.run(
        [sys.executable, "-m", "tests.reliability.seed", "docs", str(job_count)],
        cwd=ROOT,
        env=settings_env(settings, **env),
        check=True,
        capture_output=True,
    )
    port = free_port()
    supervisor = topology(
        **env, PORT=str(port), WEB_CONCURRENCY="1", SCHEDULER_EVERY_SECONDS="2", SCHEDULER_LEASE_SECONDS="5"
    )
    commands = read_procfile()
    assert supervisor.run_once("release", commands["release"]) == 0
    store = pymongo.MongoClient(server.uri)
    records = store.get_default_database()["job_statuses"]
    supervisor.start("web", commands["web"])
    supervisor.start("scheduler", commands["scheduler"])
    wait_for(lambda: records.count_documents({}) >= len(users), timeout=60)
    job_ids = [r["job_id"] for r in records.find({}, {"job_id": 1})]
    supervisor.start("worker", worker_command(processes=2, threads=3))
    ready = f"http://127.0.0.1:{port}/ready"
    wait_for(lambda: ready_status(ready)[0] == 200, timeout=30)
    # (counted cheaply: on a busy machine a poll of every record slows the store the jobs need)
    under_way = min(len(job_ids) // 20, 20)
    wait_for(lambda: records.count_documents({"status": "completed"}) >= under_way, timeout=size(60, 300))

    # When the document server is stopped for 10 s, jobs running and waiting, and started again
    at_stop = ledger(job_ids, collection=records).by_status
    answers, recovery = outage(server, ready)

    # Then /ready answered 503 quickly all along
    slowest = ready_refused_quickly(answers)
    # And every job completes, each once; the running ones were retried
    wait_until_finished(job_ids, size(300, 1800), records)
    recovered = recovery.seconds()
    log = topology.log_path.read_text()
    outcome = completed_once(job_ids, log, collection=records)
    # And every record is true: completed, with each of its user's accounts completed
    for record in records.find({"job_id": {"$in": job_ids}}):
        assert record["status"] == "completed" and record.get("completed_at"), record
        assert record["accounts"] and all(a["status"] == "completed" for a in record["accounts"]), record
    # And no process died or restarted, and no exception escaped unlogged
    for supervised in supervisor.processes.values():
        assert supervised.alive() and supervised.starts == 1, supervised
    assert not any(marker in log for marker in UNHANDLED)
    wait_for(lambda: ready_status(ready)[0] == 200, timeout=10)
    report(
        ReportRow(
            scenario="Document-server restart",
            done=(
                f"SecantusDB (storage folder) stopped for {DOWN_SECONDS:g} s and restarted with "
                f"{at_stop.get('running', 0)} running, {at_stop.get('queued', 0)} queued "
                f"of {len(job_ids)} jobs"
            ),
            **outcome.counts(),
            recovery_seconds=recovered,
            notes=(
                f"/ready 503 in at most {slowest:.2f} s while down; "
                f"{sum(outcome.extra_attempts_by_user().values())} attempts retried; no process restarted"
            ),
        )
    )
