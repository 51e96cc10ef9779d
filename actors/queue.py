"""The JobQueue of services.jobs on Dramatiq: messages whose id is the job id.

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


class DramatiqJobQueue:
    def __init__(self, actor: dramatiq.Actor) -> None:
        self.actor = actor

    def new_job_id(self) -> str:
        return generate_unique_id()

    def message(self, job_id: str, user_id: str, trigger: str) -> dramatiq.Message:
        return dramatiq.Message(
            queue_name=self.actor.queue_name,
            actor_name=self.actor.actor_name,
            args=(user_id,),
            kwargs={},
            options={"trigger": trigger},
            message_id=job_id,
        )

    def send(self, job_id: str, user_id: str, trigger: str) -> None:
        self.actor.broker.enqueue(self.message(job_id, user_id, trigger))

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
        queue = f"{broker.namespace}:{self.actor.queue_name}"
        pipe = broker.client.pipeline(transaction=True)
        pipe.hset(f"{queue}.msgs", mapping={m.options["redis_message_id"]: m.encode() for m in messages})
        pipe.rpush(queue, *(m.options["redis_message_id"] for m in messages))
        pipe.execute()
        for message in messages if hooks else ():
            broker.emit_after("enqueue", message, None)

    def _redis_message(self, job_id: str, user_id: str, trigger: str) -> dramatiq.Message:
        # RedisBroker.enqueue gives every enqueue a fresh Redis id, because a retry re-enqueues the same
        # message id. A first enqueue may use the job id itself: it is a fresh unique id already.
        return dramatiq.Message(
            queue_name=self.actor.queue_name,
            actor_name=self.actor.actor_name,
            args=(user_id,),
            kwargs={},
            options={"trigger": trigger, "redis_message_id": job_id},
            message_id=job_id,
        )


def _has_enqueue_hooks(broker: dramatiq.Broker) -> bool:
    """Whether any middleware has its own enqueue hook (ours have none: skip 12 no-op calls a message)."""
    return any(
        type(m).before_enqueue is not Middleware.before_enqueue
        or type(m).after_enqueue is not Middleware.after_enqueue
        for m in broker.middleware
    )
