"""Long jobs: every worker thread busy with jobs that run four times the heartbeat timeout.

Dramatiq's Redis consumer heartbeats only when it fetches or acks, so a worker whose threads are all
busy for longer than BROKER_HEARTBEAT_TIMEOUT_MS may look dead to another worker's maintenance, which
then redelivers the jobs it runs. Worker A (1 process × 2 threads) takes twice as many jobs as it has
threads (both threads busy, its prefetch full); worker B starts once A's threads are busy, idle, its
maintenance watching A's heartbeat. Required: every job completes, and no job runs twice at once (the
fencing tokens of its executions, from the workers' logs, and the record's token), whether or not
such a redelivery happened; the report says how many redelivered copies were put back.
"""

from __future__ import annotations

import pytest

from models import JobStatus
from tests.reliability.fencing_log import interleaved, read
from tests.reliability.support import (
    ReportRow,
    Stopwatch,
    ledger,
    make_users,
    report,
    size,
    wait_until_finished,
    worker_command,
)
from tests.support import wait_for

pytestmark = pytest.mark.e2e

#: The workers' BROKER_HEARTBEAT_TIMEOUT_MS (their job leases: 2 s, renewed every 0.5 s).
HEARTBEAT_TIMEOUT_MS = 4_000
#: Latency of every SP-API call: a one-account first sync makes at least four timed calls (orders,
#: metrics, inventory, a SKU's velocity), so it runs longer than four heartbeat timeouts.
LATENCY_MS = 4_500
THREADS = 2


@pytest.mark.timeout(size(240, 1800))
def test_jobs_four_times_the_heartbeat_timeout_on_every_thread_never_run_twice_at_once(
    make_user, sandbox, topology, producer
):
    # Given twice as many one-account users as worker A has threads, each job > 4 heartbeat timeouts
    count = size(2, 6) * THREADS
    users = make_users(make_user, sandbox, count * 3, prefix="long", latency_ms=LATENCY_MS)[::3]
    supervisor = topology(
        BROKER_HEARTBEAT_TIMEOUT_MS=str(HEARTBEAT_TIMEOUT_MS),
        SP_API_TIMEOUT_SECONDS="15",
        SP_API_RETRY_DEADLINE_SECONDS="60",
    )

    # When they are enqueued at once for worker A, and worker B starts once A's threads are busy
    job_ids = [enqueued.job_id for enqueued in producer.enqueue_users(users, "schedule")]
    supervisor.start("worker-a", worker_command(processes=1, threads=THREADS))
    watch = Stopwatch()
    wait_for(lambda: topology.log_path.read_text().count(" started (retry ") >= THREADS, timeout=60)
    supervisor.start("worker-b", worker_command(processes=1, threads=THREADS))
    wait_until_finished(job_ids, size(180, 1500))

    # Then every job completed once, with the token of its newest execution on its record
    log = topology.log_path.read_text()
    outcome = ledger(job_ids, log)
    assert outcome.by_status == {"completed": count}, outcome.by_status
    executions = read(log)
    assert {j: executions[j].completions() for j in job_ids} == dict.fromkeys(job_ids, 1)
    for record in JobStatus.objects(job_id__in=job_ids):
        assert record.fence == max(executions[record.job_id].executions), record.job_id
        assert record.duration_ms > 4 * HEARTBEAT_TIMEOUT_MS, (record.job_id, record.duration_ms)
    # And no job ran twice at once
    assert interleaved(log) == []
    put_back = log.count("its redelivered message is put back")
    report(
        ReportRow(
            scenario="Long jobs",
            done=(
                f"{count} jobs of > {4 * HEARTBEAT_TIMEOUT_MS / 1000:g} s (4 × the heartbeat timeout) taken "
                f"by a worker of 1 × {THREADS} threads, every thread busy and its prefetch full; a second "
                f"worker idle beside it"
            ),
            **outcome.counts(),
            recovery_seconds=None,
            notes=(
                f"0 jobs run twice at once; {put_back} redelivered copies put back under a live lease; "
                f"all done in {watch.seconds():.0f} s"
            ),
        )
    )
