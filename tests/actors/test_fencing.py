"""A delivery of a job whose lease a live execution holds is put back with a delay, never run beside it."""

from __future__ import annotations

import json
import time

from models import JobStatus
from tests.support import wait_for


def test_a_message_whose_job_is_held_elsewhere_is_put_back_and_not_run(
    broker, make_user, sandbox, settings, redis_client, producer
):
    # Given a user's queued job whose lease a live execution elsewhere holds (token 41, 5 s left)
    make_user("u-held", [("US", "held-us")])
    from actors import job_lease_middleware  # noqa: F401 (the worker's middleware)

    enqueued = producer.enqueue_user("u-held", "manual")
    lease = f"{settings.redis_namespace}:job:{enqueued.job_id}:lease"
    redis_client.set(lease, 41, px=5_000)

    # When a worker takes the message
    import dramatiq

    put_back_after = int(time.time() * 1000)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        delayed = wait_for(lambda: _delayed_copy(broker, settings, enqueued.job_id), timeout=20)
        time.sleep(0.5)

        # Then the job did not run: its record is still queued, Amazon was not called
        record = JobStatus.objects.get(job_id=enqueued.job_id)
        assert record.status == "queued" and record.attempts == 0 and record.fence is None
        assert "held-us" not in sandbox.state.get_stats()
        # And its message waits in the delayed queue until after the holder's lease would run out
        assert delayed["options"]["eta"] >= put_back_after + 5_000
        assert int(redis_client.get(lease)) == 41
    finally:
        worker.stop()


def _delayed_copy(broker, settings, job_id: str) -> dict | None:
    for queue in broker.get_declared_delay_queues():
        for raw in broker.client.hvals(f"{settings.redis_namespace}:{queue}.msgs"):
            message = json.loads(raw)
            if message["message_id"] == job_id:
                return message
    return None


def test_a_stop_signal_as_a_job_lease_is_taken_leaves_no_lease_behind(
    broker, make_user, settings, redis_client, producer, monkeypatch
):
    # Given a user's queued job, and a worker whose stop signal arrives just as the job's lease is
    # taken (Dramatiq's ShutdownNotifications raises Shutdown in every thread it was told to watch)
    make_user("u-stopped", [("US", "stopped-us")])
    from dramatiq.middleware import ShutdownNotifications

    from actors.job_lease_middleware import JobLeaseMiddleware

    enqueued = producer.enqueue_user("u-stopped", "manual")
    shutdown = next(m for m in broker.middleware if isinstance(m, ShutdownNotifications))
    keeper = next(m for m in broker.middleware if isinstance(m, JobLeaseMiddleware)).keeper
    take = keeper.acquire
    taken: list = []

    def take_then_stop(job_id: str):
        lease = take(job_id)
        taken.append(lease)
        shutdown.manager.shutdown()
        for _ in range(10_000):  # bytecode boundaries, where a pending Shutdown is raised
            pass
        return lease

    monkeypatch.setattr(keeper, "acquire", take_then_stop)

    # When a worker takes the message and the delivery ends
    import dramatiq

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        wait_for(lambda: taken, timeout=20)
        lease = f"{settings.redis_namespace}:job:{enqueued.job_id}:lease"
        # Then the job's lease does not outlive the delivery that took it
        wait_for(lambda: not redis_client.exists(lease), timeout=10)
    finally:
        worker.stop()
