"""Which worker processes are alive: ``<ns>:workers``, a sorted set of worker id → last-seen time (ms).

Dramatiq's own ``__heartbeats__`` set is no census of workers: every process that enqueues through the
Redis broker (web, scheduler) appears in it too. Workers announce themselves here instead
(actors.presence) and are counted while their last announcement is fresh.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

import redis

from services.platform.redis_pool import key
from services.platform.settings import Settings

#: Seconds between two announcements of a live worker.
ANNOUNCE_EVERY = 10.0
#: A worker not heard from for this long is not counted.
STALE_AFTER = 3 * ANNOUNCE_EVERY
#: Members older than this are removed from the set.
FORGET_AFTER = 86_400.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Presence:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.key = key(settings, "workers")
        self.redis = client

    def announce(self, worker_id: str) -> None:
        now_ms = time.time() * 1000
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.key, {worker_id: now_ms})
        pipe.zremrangebyscore(self.key, "-inf", now_ms - FORGET_AFTER * 1000)
        pipe.execute()

    def leave(self, worker_id: str) -> None:
        self.redis.zrem(self.key, worker_id)

    def count(self) -> int:
        return int(self.redis.zcount(self.key, time.time() * 1000 - STALE_AFTER * 1000, "+inf"))
