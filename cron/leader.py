"""The scheduler's leader lease: only the process holding it ticks.

One Redis key (``<ns>:scheduler:leader``) holds the leader's token, set if absent with an expiry,
renewed by its holder (compare-and-expire) and deleted by its holder on exit (compare-and-delete).
A leader that dies stops renewing; its key expires within one lease period and the next follower
that polls takes it. Per-user dedup (services.active_jobs) stays underneath: two leaders for a moment
(a paused process whose lease expired) still enqueue nobody twice.
"""

from __future__ import annotations

import logging
import os
import socket
from uuid import uuid4

import redis

logger = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def new_token() -> str:
    """``hostname:pid:random``: unique per lease holder, and says in logs who holds the lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:12]}"


class LeaderLease:
    def __init__(self, client: redis.Redis, name: str, lease_seconds: float, *, token: str | None = None):
        self.redis = client
        self.name = name
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.token = token or new_token()
        #: Whether the last acquire or renew succeeded.
        self.held = False
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire_or_renew(self) -> bool:
        """Renew the lease if we hold it, else take it if free; False (a follower) on a Redis error."""
        was_held = self.held
        try:
            renewed = bool(self._renew(keys=[self.name], args=[self.token, self.lease_ms]))
            self.held = renewed or bool(self.redis.set(self.name, self.token, nx=True, px=self.lease_ms))
        except redis.RedisError as exc:
            # Without Redis nobody can enqueue anyway; stepping down is the safe side.
            logger.warning("Could not renew the scheduler lease %s: %s.", self.name, exc)
            self.held = False
        if self.held and not was_held:
            logger.info("Became the scheduler leader (%s).", self.token)
        elif was_held and not self.held:
            logger.warning("Lost the scheduler lease (%s).", self.token)
        return self.held

    def holder(self) -> str | None:
        value = self.redis.get(self.name)
        return value.decode() if value is not None else None

    def release(self) -> bool:
        """Give the lease up, if we still hold it, so that a follower takes over at its next poll."""
        self.held = False
        try:
            released = bool(self._release(keys=[self.name], args=[self.token]))
        except redis.RedisError as exc:
            logger.warning("Could not release the scheduler lease %s: %s.", self.name, exc)
            return False
        if released:
            logger.info("Released the scheduler lease (%s).", self.token)
        return released
