"""The bulk path under a tick: enqueue_users, send_many, claim_many, insert_queued."""

from __future__ import annotations

import logging
import uuid

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from actors.queue import DramatiqJobQueue
from models import JobStatus, User
from services.jobs.producer import PRIORITY_QUEUE_NAME, QUEUE_NAME, JobProducer
from services.jobs.records import JobRecords
from services.platform.redis_pool import key
from tests.cron.cron_support import queued_user_ids, seed_due_users
from tests.support import wait_for


def test_a_batch_sent_in_one_round_trip_is_read_by_dramatiqs_own_consumer(broker, producer):
    # Given three messages sent as one batch
    jobs = [(producer.queue.new_job_id(), f"u{n}", "schedule") for n in range(3)]
    producer.queue.send_many(jobs)

    # When the broker's own consumer fetches them
    consumer = broker.consume(QUEUE_NAME, prefetch=10, timeout=100)
    fetched = [next(consumer) for _ in range(3)]

    # Then they are Dramatiq messages of process_user whose ids are the job ids, in order
    assert [(m.message_id, m.args, m.actor_name) for m in fetched] == [
        (job_id, (user_id,), "process_user") for job_id, user_id, _ in jobs
    ]
    assert [m.options["trigger"] for m in fetched] == ["schedule"] * 3
    for message in fetched:
        consumer.ack(message)
    consumer.close()


def test_a_batchs_job_ids_are_distinct_random_uuids_of_dramatiqs_form(producer):
    # Given the ids of a large batch
    ids = producer.queue.new_job_ids(10_000)

    # Then each is a version-4 UUID written as generate_unique_id writes one, and none repeats
    assert len(set(ids)) == 10_000
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)
    assert {uuid.UUID(i).variant for i in ids} == {uuid.RFC_4122}
    assert producer.queue.new_job_ids(0) == []


def test_a_batch_holds_the_bytes_dramatiq_encodes_for_each_message(producer, redis_client, settings):
    # Given jobs of both lanes, for user ids that need escaping in JSON
    users = ['quote"', "back\\slash", "brace{user}", "ünï-☃", "nul\x00user-id\x00", "plain"]
    jobs = [(producer.queue.new_job_id(), u, "schedule" if n % 2 else "manual") for n, u in enumerate(users)]

    # When they are sent as one batch
    producer.queue.send_many(jobs)

    # Then each stored message is what Message.encode gives for that job (at its own timestamp)
    for job_id, user_id, trigger in jobs:
        message = producer.queue.message(job_id, user_id, trigger, redis_message_id=job_id)
        stored = redis_client.hget(key(settings, f"{message.queue_name}.msgs"), job_id)
        timestamp = dramatiq.Message.decode(stored).message_timestamp
        assert stored == message.copy(message_timestamp=timestamp).encode()
    assert queued_user_ids(redis_client, settings) == users[1::2]
    assert queued_user_ids(redis_client, settings, PRIORITY_QUEUE_NAME) == users[::2]


class EnqueueLog(dramatiq.Middleware):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def before_enqueue(self, broker, message, delay):
        self.seen.append(("before", message.message_id))

    def after_enqueue(self, broker, message, delay):
        self.seen.append(("after", message.message_id))


def test_a_middleware_with_an_enqueue_hook_sees_every_message_of_a_batch(redis_client, settings):
    # Given an actor on a Redis broker with a middleware that hooks enqueues
    log = EnqueueLog()
    broker = RedisBroker(client=redis_client, namespace=settings.redis_namespace, middleware=[log])
    actor = dramatiq.Actor(
        lambda user_id: None, actor_name="hooked", queue_name="hooked", priority=0, broker=broker, options={}
    )

    # When a batch is sent
    DramatiqJobQueue(actor).send_many([("j1", "u1", "schedule"), ("j2", "u2", "schedule")])

    # Then the hooks ran for each message, and the messages are queued
    assert log.seen == [("before", "j1"), ("before", "j2"), ("after", "j1"), ("after", "j2")]
    assert queued_user_ids(redis_client, settings, "hooked") == ["u1", "u2"]


def test_bulk_enqueued_jobs_run_to_completion_on_a_real_worker(broker, worker, producer, make_user):
    # Given two users with sandbox accounts
    make_user("bulk-a", [("US", "bulk-a-us")])
    make_user("bulk-b", [("DE", "bulk-b-de")])

    # When both are enqueued in one batch and a worker runs
    enqueued = producer.enqueue_users(["bulk-a", "bulk-b"], "schedule")

    # Then both jobs complete and free their users (the worker frees a user just after its record)
    def done():
        records = JobStatus.objects(job_id__in=[e.job_id for e in enqueued], status="completed")
        return records.count() == 2 and {producer.active.current(u) for u in ("bulk-a", "bulk-b")} == {None}

    wait_for(done, timeout=30)
    assert {producer.active.current(u) for u in ("bulk-a", "bulk-b")} == {None}
    assert all(u.last_synced_at is not None for u in User.objects(user_id__in=["bulk-a", "bulk-b"]))


def test_unknown_ids_are_skipped_and_duplicates_get_one_job(producer, settings, redis_client, caplog):
    # Given two known users
    seed_due_users(2)

    # When they are enqueued with an unknown id and a repeat
    with caplog.at_level(logging.WARNING, logger="services.jobs.producer"):
        results = producer.enqueue_users(["due-000000", "ghost", "due-000001", "due-000000"])

    # Then the unknown one is skipped with a warning, and the repeat gets the first one's job
    assert [(r.user_id, r.deduplicated) for r in results] == [
        ("due-000000", False),
        ("due-000001", False),
        ("due-000000", True),
    ]
    assert results[2].job_id == results[0].job_id
    assert "Skipped unknown user 'ghost'" in caplog.text
    assert queued_user_ids(redis_client, settings) == ["due-000000", "due-000001"]
    assert JobStatus.objects.count() == 2


def test_records_written_in_bulk_are_the_records_of_one_enqueue(settings):
    # Given the records of one job made both ways
    records = JobRecords(settings)
    one = records.new_record("j1", "u1", "schedule").to_mongo().to_dict()

    # When the bulk form is built at the same moment
    (bulk,) = records.queued_documents([("j1", "u1", "schedule")], now=one["queued_at"])

    # Then they are the same document
    assert bulk == one


class BrokenQueue(DramatiqJobQueue):
    def send_many(self, jobs):
        raise ConnectionError("broker down")


def test_a_batch_that_cannot_be_sent_fails_its_records_and_frees_its_users(broker, settings, redis_client):
    # Given a producer whose broker is down
    seed_due_users(3)
    from actors import process_user

    producer = JobProducer(BrokenQueue(process_user), settings=settings, client=redis_client)

    # When a batch is enqueued
    with pytest.raises(ConnectionError):
        producer.enqueue_users(["due-000000", "due-000001", "due-000002"])

    # Then the records say failed with the reason, and the users are free for the next tick
    assert {(r.status, r.error.message) for r in JobStatus.objects} == {("failed", "broker down")}
    assert [producer.active.current(f"due-00000{n}") for n in range(3)] == [None, None, None]


def test_a_broker_without_pipelines_gets_one_enqueue_per_message():
    # Given an actor on a broker that is not Redis (RabbitMQ in production; a stub here)
    stub = StubBroker()
    actor = dramatiq.Actor(
        lambda user_id: None,
        actor_name="process_user",
        queue_name=QUEUE_NAME,
        priority=0,
        broker=stub,
        options={},
    )

    # When a batch is sent
    DramatiqJobQueue(actor).send_many([("j1", "u1", "schedule"), ("j2", "u2", "schedule")])

    # Then each message is enqueued through the broker
    assert [dramatiq.Message.decode(m).message_id for m in stub.queues[QUEUE_NAME].queue] == ["j1", "j2"]
