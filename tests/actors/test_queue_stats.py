"""Queue statistics count jobs by state and live worker processes, not every process that enqueues."""

from __future__ import annotations

import dramatiq

from tests.support import wait_for


def test_workers_are_counted_while_they_run_and_enqueuing_processes_are_not(broker, make_user, producer):
    # Given no worker, and a process (this one) that enqueues through the broker
    make_user("u-stats", [("US", "stats-us")])
    producer.enqueue_user("u-stats")
    assert producer.get_queue_stats()["workers"] == 0

    # When a worker starts
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        # Then it is counted, and its job moves from waiting to completed
        assert wait_for(lambda: producer.get_queue_stats()["workers"] == 1)
        stats = wait_for(lambda: (s := producer.get_queue_stats())["counts"]["completed"] == 1 and s)
        assert stats["counts"]["waiting"] == 0 and stats["throughput"]["completedLastHour"] == 1
    finally:
        worker.stop()

    # And once it has stopped it is no longer counted
    assert producer.get_queue_stats()["workers"] == 0
