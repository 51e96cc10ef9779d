"""The JobQueue of services.jobs.producer on Dramatiq: messages whose id is the job id, in two lanes.

A job's lane (models.jobs.lane_of its trigger) picks the actor: the priority actor's queue for jobs a
person waits for, the standard actor's for the rest. Without a priority actor (tests, benchmarks of
one queue) every job takes the one actor given.

``send_many`` enqueues a whole batch on a RedisBroker in one round trip: one ``HSET`` of the messages
and one ``RPUSH`` of their ids, in a MULTI transaction. That is exactly what the broker's own
``dispatch`` script does for each ``enqueue`` command (dramatiq/brokers/redis/dispatch.lua:
``hset <ns>:<queue>.msgs id data`` then ``rpush <ns>:<queue> id``), for a batch instead of one
message; the broker's enqueue middleware hooks run for every message as ``RedisBroker.enqueue`` runs
them. Other brokers (RabbitMQ) get one ``broker.enqueue`` per message. A test consumes such a batch
with the broker's own consumer, so a change of Dramatiq's Redis layout fails loudly.
"""

from __future__ import annotations

import dramatiq
from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import generate_unique_id

from actors.messages import PROMOTED, job_message
from models.jobs import lane_of


class DramatiqJobQueue:
    def __init__(self, actor: dramatiq.Actor, *, priority_actor: dramatiq.Actor | None = None) -> None:
        self.actor = actor
        self.lanes = {"standard": actor, "priority": priority_actor or actor}

    def new_job_id(self) -> str:
        return generate_unique_id()

    def actor_for(self, trigger: str) -> dramatiq.Actor:
        return self.lanes[lane_of(trigger)]

    def message(self, job_id: str, user_id: str, trigger: str, **options: object) -> dramatiq.Message:
        """The message of a new job, in its trigger's lane."""
        return job_message(self.actor_for(trigger), job_id, user_id, trigger, **options)

    def send(self, job_id: str, user_id: str, trigger: str) -> None:
        self.actor.broker.enqueue(self.message(job_id, user_id, trigger))

    def promote(self, job_id: str, user_id: str, trigger: str) -> None:
        """The priority-lane copy of a queued job (the standard-lane one is then skipped)."""
        actor = self.lanes["priority"]
        actor.broker.enqueue(job_message(actor, job_id, user_id, trigger, **{PROMOTED: True}))

    def send_many(self, jobs: list[tuple[str, str, str]]) -> None:
        """Enqueue ``(job_id, user_id, trigger)`` messages: all of them, or raise (then none is queued)."""
        broker = self.actor.broker
        if not isinstance(broker, RedisBroker):
            for job_id, user_id, trigger in jobs:
                self.send(job_id, user_id, trigger)
            return
        if not jobs:
            return
        messages = [self._redis_message(*job) for job in jobs]
        hooks = _has_enqueue_hooks(broker)
        for message in messages if hooks else ():
            broker.emit_before("enqueue", message, None)
        pipe = broker.client.pipeline(transaction=True)
        for queue_name in dict.fromkeys(m.queue_name for m in messages):  # each lane, in input order
            ids = {m.options["redis_message_id"]: m.encode() for m in messages if m.queue_name == queue_name}
            queue = f"{broker.namespace}:{queue_name}"
            pipe.hset(f"{queue}.msgs", mapping=ids)
            pipe.rpush(queue, *ids)
        pipe.execute()
        for message in messages if hooks else ():
            broker.emit_after("enqueue", message, None)

    def _redis_message(self, job_id: str, user_id: str, trigger: str) -> dramatiq.Message:
        # RedisBroker.enqueue gives every enqueue a fresh Redis id, because a retry re-enqueues the same
        # message id. A first enqueue may use the job id itself: it is a fresh unique id already.
        return self.message(job_id, user_id, trigger, redis_message_id=job_id)


def _has_enqueue_hooks(broker: dramatiq.Broker) -> bool:
    """Whether any middleware has its own enqueue hook (ours have none: skip 12 no-op calls a message)."""
    return any(
        type(m).before_enqueue is not Middleware.before_enqueue
        or type(m).after_enqueue is not Middleware.after_enqueue
        for m in broker.middleware
    )
