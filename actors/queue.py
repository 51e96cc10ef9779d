"""The JobQueue of services.jobs on Dramatiq: messages whose id is the job id.

``send_many`` enqueues a whole batch in one Redis round trip: it calls the RedisBroker's own
``dispatch`` script (what ``RedisBroker.enqueue`` runs) once per message on a pipeline, with the
broker's enqueue middleware hooks around it. Other brokers (RabbitMQ) get one ``enqueue`` per message.
"""

from __future__ import annotations

from uuid import uuid4

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
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
        """Enqueue ``(job_id, user_id, trigger)`` messages; all of them, or raise (then any may be queued)."""
        broker = self.actor.broker
        if not isinstance(broker, RedisBroker):
            for job_id, user_id, trigger in jobs:
                self.send(job_id, user_id, trigger)
            return
        if not jobs:
            return
        messages = [self._redis_message(*job) for job in jobs]
        for message in messages:
            broker.emit_before("enqueue", message, None)
        _pipelined_enqueue(broker, messages)
        for message in messages:
            broker.emit_after("enqueue", message, None)

    def _redis_message(self, job_id: str, user_id: str, trigger: str) -> dramatiq.Message:
        # As RedisBroker.enqueue does: a unique id per enqueue, since a retried message is enqueued again.
        message = self.message(job_id, user_id, trigger)
        return message.copy(options={"redis_message_id": str(uuid4())})


def _pipelined_enqueue(broker: RedisBroker, messages: list[dramatiq.Message]) -> None:
    """Run the broker's ``dispatch("enqueue", …)`` script for every message in one pipeline."""
    dispatch = broker.scripts["dispatch"]
    keys = [broker.namespace]
    unpack = broker._max_unpack_size()
    pipe = broker.client.pipeline(transaction=False)
    timestamp = current_millis()
    for message in messages:
        args = [
            "enqueue",
            timestamp,
            message.queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            broker._should_do_maintenance("enqueue"),
            unpack,
            message.options["redis_message_id"],
            message.encode(),
        ]
        dispatch(keys=keys, args=args, client=pipe)
    pipe.execute()
