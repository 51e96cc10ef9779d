"""BROKER_URL=amqp://… runs the same pipeline on RabbitMQ (Redis still holds cache, dedup and quotas).

Needs a RabbitMQ server (this machine runs one on 5672; RABBITMQ_URL overrides): skipped locally when
none answers, failed in CI.
"""

from __future__ import annotations

import os
from dataclasses import replace

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from actors.broker import build_broker
from actors.queue import DramatiqJobQueue
from actors.sync import process_user
from models import JobStatus
from services.jobs.producer import JobProducer
from tests.support import rabbitmq_url, wait_for


@pytest.fixture
def rabbitmq_broker(settings):
    broker = build_broker(replace(settings, broker_url=rabbitmq_url()))
    yield broker
    broker.close()


def test_a_job_runs_through_rabbitmq_with_the_same_middleware(rabbitmq_broker, make_user, settings):
    # Given a RabbitMQ broker built from BROKER_URL, carrying the sync actor
    assert isinstance(rabbitmq_broker, RabbitmqBroker)
    names = [type(m).__name__ for m in rabbitmq_broker.middleware]
    assert names.index("JobStatusMiddleware") < names.index("JobRetries")
    queue_name = f"sync-test-{os.getpid()}"
    actor = dramatiq.actor(
        process_user.fn,
        broker=rabbitmq_broker,
        actor_name="process_user",
        queue_name=queue_name,
        **{k: v for k, v in process_user.options.items() if k == "throws"},
    )
    rabbitmq_broker.flush(queue_name)
    producer = JobProducer(DramatiqJobQueue(actor), settings=settings)
    make_user("u-rabbit", [("US", "rabbit-us"), ("DE", "rabbit-de")])

    # When a user is enqueued, twice, and a worker consumes the queue
    first = producer.enqueue_user("u-rabbit")
    assert producer.enqueue_user("u-rabbit").job_id == first.job_id
    worker = dramatiq.Worker(rabbitmq_broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        record = wait_for(lambda: JobStatus.objects(job_id=first.job_id, status="completed").first())
    finally:
        worker.stop()

    # Then the job went through RabbitMQ to completed, once, with every account
    assert record.attempts == 1
    accounts = sorted((a.country, a.status) for a in record.accounts)
    assert accounts == [("DE", "completed"), ("US", "completed")]
    for name in (queue_name, f"{queue_name}.DQ", f"{queue_name}.XQ"):  # leave the server as we found it
        rabbitmq_broker.channel.queue_delete(name)
