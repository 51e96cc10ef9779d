"""A partition across hosts: a worker host cut off from the servers for three heartbeat timeouts while
it runs jobs, then restored.

Hosts are network namespaces the test makes and removes (tests/reliability/netns.py): the servers
(redis-server, the document server, the SP-API sandbox at 300 ms a call) in one, and two worker hosts
each running the Procfile's ``worker``. A wave is run once without the partition, for the data to
compare with; then again while host h1 is cut off. Required: every job completes, none is lost, no
job's writes interleave between two executions (the fencing tokens on the records and in the
workers' logs), the data equals the run without the partition, and h1's worker recovers without a
restart (it runs jobs again).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.reliability import netns
from tests.reliability.fencing_log import interleaved, read
from tests.reliability.partition_stack import PartitionStack
from tests.reliability.support import ReportRow, Stopwatch, content_differences, report, size

pytestmark = pytest.mark.e2e

#: The workers' BROKER_HEARTBEAT_TIMEOUT_MS: a job's lease is 2 s, renewed every 0.5 s.
HEARTBEAT_TIMEOUT_MS = 4_000
#: How long h1 stays cut off: three heartbeat timeouts.
CUT_SECONDS = 3 * HEARTBEAT_TIMEOUT_MS / 1000
#: SP-API latency of every call (300 ms, a slow marketplace).
LATENCY_MS = 300
THREADS = 3


@pytest.fixture
def stack(settings, tmp_path) -> Iterator[PartitionStack]:
    reason = netns.available()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with netns.Network(f"ss{os.getpid()}", ("h1", "h2")) as network:
        stack = PartitionStack(network, settings, tmp_path / "partition.log", HEARTBEAT_TIMEOUT_MS)
        try:
            stack.start_servers(time_scale=1000)
            yield stack
        finally:
            stack.stop()


@pytest.mark.timeout(size(240, 2400))
def test_a_host_cut_off_for_three_heartbeat_timeouts_never_runs_a_job_twice_at_once(stack):
    # Given users with 1-3 accounts at 300 ms a call, and two worker hosts
    users = stack.ask(do="seed", prefix="part", count=size(18, 200), latency_ms=LATENCY_MS)["users"]
    for host in ("h1", "h2"):
        stack.start_worker(host, THREADS)
    # And the content of a wave run without the partition, after which the data is forgotten
    baseline_jobs = stack.ask(do="enqueue", users=users)["jobs"]
    _wait_until_finished(stack, baseline_jobs, size(120, 1200))
    baseline = stack.ask(do="content")["content"]
    stack.ask(do="forget")
    log_start = len(stack.log_path.read_text())

    # When the same wave runs and h1 is cut off for three heartbeat timeouts while it runs jobs, late
    # enough in the wave that h2 has threads free for h1's redelivered messages
    job_ids = stack.ask(do="enqueue", users=users)["jobs"]
    cut_with = _wait_for_the_cut(stack, job_ids, log_start)
    stack.network.cut("h1")
    time.sleep(CUT_SECONDS)
    stack.network.restore("h1")
    recovery = Stopwatch()
    _wait_until_finished(stack, job_ids, size(180, 1800))
    recovered = recovery.seconds()

    # Then every job completed, each with the fencing token of its last execution
    records = stack.ask(do="records", jobs=job_ids)["records"]
    assert sorted(r["status"] for r in records.values()) == ["completed"] * len(job_ids)
    log = stack.log_path.read_text()[log_start:]
    executions = read(log)
    for job_id, record in records.items():
        newest = max(executions[job_id].executions)
        assert record["fence"] == newest, (job_id, record, executions[job_id])
    # And no two executions of a job wrote at once, and each job's completion was recorded once
    assert interleaved(log) == []
    assert {job_id: executions[job_id].completions() for job_id in job_ids} == dict.fromkeys(job_ids, 1)
    # And h1's jobs were redelivered to h2, which ran them while h1 was cut off
    assert [j for j in cut_with if _moved_to_h2(executions[j])], (cut_with, executions)
    # And the data equals the run without the partition
    differences = content_differences(baseline, stack.ask(do="content")["content"])
    assert differences == {}, f"the stored data differs from the run without the partition: {differences}"
    # And h1's worker, never restarted, runs jobs again
    after = _h1_runs_again(stack, users)
    _report(len(job_ids), cut_with, executions, recovered, after)


def _running_on(stack: PartitionStack, host: str, job_ids: list[str], log_start: int) -> list[str]:
    """The jobs ``host`` has started in this wave and not yet ended, per its log."""
    executions = read(stack.log_path.read_text()[log_start:])
    return [
        job_id
        for job_id in job_ids
        if job_id in executions
        and any(e.host == host and e.recorded is None for e in executions[job_id].executions.values())
    ]


def _wait_for_the_cut(stack: PartitionStack, job_ids: list[str], log_start: int) -> list[str]:
    """Once no more jobs are left than the two hosts hold (running and prefetched), and h1 runs
    jobs: the jobs h1 runs."""
    deadline = time.monotonic() + size(60, 900)
    while stack.ask(do="unfinished", jobs=job_ids)["unfinished"] > 4 * THREADS:
        assert time.monotonic() < deadline, "the wave did not get under way"
        time.sleep(0.2)
    while not (running := _running_on(stack, "h1", job_ids, log_start)):
        assert time.monotonic() < deadline, "h1 runs no job"
        time.sleep(0.05)
    return running


def _moved_to_h2(job) -> bool:
    """Whether an execution on h2 followed one on h1 (the message was redelivered across hosts)."""
    hosts = [e.host for e in job.ordered()]
    return "h1" in hosts and "h2" in hosts[hosts.index("h1") + 1 :]


def _wait_until_finished(stack: PartitionStack, job_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (left := stack.ask(do="unfinished", jobs=job_ids)["unfinished"]) > 0:
        assert time.monotonic() < deadline, f"{left} of {len(job_ids)} jobs unfinished after {timeout:g} s"
        time.sleep(0.5)


def _h1_runs_again(stack: PartitionStack, users: list[str]) -> int:
    """Another wave: h1 (the same process, started once) completes some of its jobs."""
    assert stack.supervisor.processes["h1"].alive() and stack.supervisor.processes["h1"].starts == 1
    log_start = len(stack.log_path.read_text())
    job_ids = stack.ask(do="enqueue", users=users)["jobs"]
    _wait_until_finished(stack, job_ids, size(120, 1200))
    executions = read(stack.log_path.read_text()[log_start:])
    on_h1 = [j for j in executions.values() if any(e.host == "h1" and e.status for e in j.ordered())]
    assert on_h1, "h1 completed no job after the partition"
    assert stack.supervisor.processes["h1"].starts == 1
    return len(on_h1)


def _report(jobs_in: int, cut_with: list[str], executions, recovered: float, after: int) -> None:
    stopped = sum(1 for job in executions.values() for e in job.executions.values() if e.stopped)
    moved = sum(1 for job in executions.values() if _moved_to_h2(job))
    report(
        ReportRow(
            scenario="Partition across hosts",
            done=(
                f"2 worker hosts (network namespaces, 1 × {THREADS} threads each) on servers in a third; "
                f"h1 cut off for {CUT_SECONDS:g} s (3 × the {HEARTBEAT_TIMEOUT_MS / 1000:g} s heartbeat "
                f"timeout) while running {len(cut_with)} jobs; SP-API calls 300 ms"
            ),
            jobs_in=jobs_in,
            completed=jobs_in,
            lost=0,
            duplicated=0,
            recovery_seconds=recovered,
            notes=(
                f"0 interleaved executions; {moved} of h1's jobs redelivered to h2 and run there, "
                f"{stopped} executions stopped by a lost lease or refused by the record; data equal to "
                f"the run without the partition; h1 not restarted, then completed {after} jobs"
            ),
        )
    )
