"""The priority lane, on the real topology: the ``dramatiq`` CLI worker in a subprocess (the Procfile's
``worker``), the test's Redis and document server, the sandbox over HTTP.

A wave of scheduled jobs waits in the standard lane; a job a person waits for must start as soon as a
worker thread frees up, not after the wave, on Redis and on RabbitMQ. A manual sync of a user whose
scheduled job still waits moves that job into the lane, and it stays one job.
"""

from __future__ import annotations

from dataclasses import replace

import dramatiq
import pytest

from actors.lanes import PRIORITY_ACTOR, PRIORITY_LANE_PRIORITY, STANDARD_ACTOR, STANDARD_LANE_PRIORITY
from actors.queue import DramatiqJobQueue
from actors.sync import PERMANENT_ERRORS, sync_user
from models import JobStatus
from services.jobs.producer import PRIORITY_QUEUE_NAME, QUEUE_NAME, JobProducer
from tests.support import CliWorker, rabbitmq_url, wait_for

pytestmark = pytest.mark.e2e

#: Scheduled users waiting when the person's job arrives; each job takes at least WAVE_LATENCY_MS.
WAVE = 24
WAVE_LATENCY_MS = 300
THREADS = 2


def seed_wave(make_user, sandbox, prefix: str) -> list[str]:
    user_ids = []
    for index in range(WAVE):
        user_id, seller = f"{prefix}-{index:02d}", f"{prefix}-seller-{index:02d}"
        make_user(user_id, [("US", seller)])
        sandbox.state.set_faults(seller, [{"operation": "getOrders", "latencyMs": WAVE_LATENCY_MS}])
        user_ids.append(user_id)
    return user_ids


def started_after(job: JobStatus, user_ids: list[str]) -> int:
    """How many of the users' jobs started after ``job`` did (or have not started yet)."""
    records = JobStatus.objects(user_id__in=user_ids).only("started_at")
    return sum(1 for r in records if r.started_at is None or r.started_at > job.started_at)


@pytest.fixture(params=["redis", "rabbitmq"])
def lanes(request, settings, broker, producer):
    """(producer, extra worker environment) for the broker under test."""
    if request.param == "redis":
        yield producer, {}
        return
    from actors.broker import build_broker

    url = rabbitmq_url()
    rabbitmq = build_broker(replace(settings, broker_url=url))
    standard = dramatiq.actor(sync_user, broker=rabbitmq, actor_name=STANDARD_ACTOR, queue_name=QUEUE_NAME,
                              priority=STANDARD_LANE_PRIORITY, throws=PERMANENT_ERRORS)  # fmt: skip
    priority = dramatiq.actor(sync_user, broker=rabbitmq, actor_name=PRIORITY_ACTOR,
                              queue_name=PRIORITY_QUEUE_NAME, priority=PRIORITY_LANE_PRIORITY,
                              throws=PERMANENT_ERRORS)  # fmt: skip
    for queue in (QUEUE_NAME, PRIORITY_QUEUE_NAME):
        rabbitmq.flush(queue)
    try:
        yield (
            JobProducer(DramatiqJobQueue(standard, priority_actor=priority), settings=settings),
            {"BROKER_URL": url},
        )
    finally:
        for queue in (QUEUE_NAME, PRIORITY_QUEUE_NAME):  # leave the server as we found it
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                rabbitmq.channel.queue_delete(name)
        rabbitmq.close()


def test_a_manual_sync_overtakes_a_waiting_wave_of_scheduled_jobs(
    lanes, make_user, sandbox, settings, tmp_path
):
    producer, worker_env = lanes
    # Given a wave of scheduled jobs waiting in the standard lane, and a worker taking them 2 at a time
    wave = seed_wave(make_user, sandbox, "wave")
    make_user("u-now", [("US", "now-us")])
    producer.enqueue_users(wave, "schedule")
    with CliWorker(settings, tmp_path / "worker.log", threads=THREADS, **worker_env) as worker:
        wait_for(lambda: JobStatus.objects(user_id__in=wave, status="completed").count() >= 2, timeout=60)

        # When a person asks for a sync
        enqueued = producer.enqueue_user("u-now", "manual")
        record = wait_for(
            lambda: JobStatus.objects(job_id=enqueued.job_id, status="completed").first(), timeout=60
        )
        wait_for(lambda: JobStatus.objects(user_id__in=wave, status="completed").count() == WAVE, timeout=90)
        log = worker.log()

    # Then the job ran in the priority lane, ahead of most of the wave: it waited for a thread to free
    # up (and the messages each thread had fetched already), never for the wave
    assert record.lane == "priority" and record.trigger == "manual"
    assert started_after(record, wave) >= WAVE // 2, log
    assert record.attempts == 1


def test_a_manual_sync_of_a_user_whose_scheduled_job_waits_moves_that_job_into_the_lane(
    make_user, sandbox, settings, tmp_path, producer
):
    # Given a wave of scheduled jobs, the last of them the user's
    wave = seed_wave(make_user, sandbox, "wave")
    make_user("u-late", [("US", "late-us")])
    scheduled = {e.user_id: e.job_id for e in producer.enqueue_users([*wave, "u-late"], "schedule")}
    with CliWorker(settings, tmp_path / "worker.log", threads=THREADS) as worker:
        wait_for(lambda: JobStatus.objects(user_id__in=wave, status="completed").count() >= 2, timeout=60)

        # When the user asks for a sync while its scheduled job still waits
        enqueued = producer.enqueue_user("u-late", "manual")
        record = wait_for(
            lambda: JobStatus.objects(job_id=enqueued.job_id, status="completed").first(), timeout=60
        )
        wait_for(lambda: JobStatus.objects(user_id__in=wave, status="completed").count() == WAVE, timeout=90)
        wait_for(lambda: f"Skipping job {enqueued.job_id}" in worker.log(), timeout=30)
        log = worker.log()

    # Then it is the same job, moved into the priority lane, and it ran ahead of most of the wave
    assert enqueued.job_id == scheduled["u-late"]
    assert enqueued.deduplicated and enqueued.promoted
    assert record.lane == "priority" and record.promoted_at is not None and record.trigger == "schedule"
    assert started_after(record, wave) >= WAVE // 2, log
    # And it ran once: one record, one attempt; its standard-lane copy was skipped
    assert JobStatus.objects(user_id="u-late").count() == 1
    assert record.attempts == 1
    assert log.count(f"Job {enqueued.job_id} for user u-late started") == 1
