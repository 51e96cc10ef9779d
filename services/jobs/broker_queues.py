"""The depths of the job queue on a Redis broker, as Dramatiq lays it out.

``<ns>:<queue>`` lists the waiting message ids, ``<ns>:<queue>.DQ`` the delayed ones (retries and
quota waits), and the sorted set ``<ns>:<queue>.XQ`` the dead-lettered ones (failed for good; kept
a week by Dramatiq). On RabbitMQ the depths live in RabbitMQ and are not read here.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from services.jobs.producer import QUEUE_NAME
from services.platform.redis_pool import key
from services.platform.settings import Settings


@dataclass(frozen=True)
class QueueDepths:
    waiting: int
    delayed: int
    dead: int


def uses_rabbitmq(settings: Settings) -> bool:
    return (settings.broker or "").startswith(("amqp://", "amqps://"))


def queue_depths(settings: Settings, client: redis.Redis, queue: str = QUEUE_NAME) -> QueueDepths | None:
    """The queue's depths in one round trip; None on RabbitMQ."""
    if uses_rabbitmq(settings):
        return None
    name = key(settings, queue)
    pipe = client.pipeline(transaction=False)
    pipe.llen(name)
    pipe.llen(f"{name}.DQ")
    pipe.zcard(f"{name}.XQ")
    return QueueDepths(*pipe.execute())
