"""The scheduler's leader lease: only the process holding it ticks.

One Redis key (``<ns>:scheduler:leader``) holds the leader's token, set if absent with an expiry,
renewed by its holder (compare-and-expire) and deleted by its holder on exit (compare-and-delete).
Per-user dedup (services.jobs.active) stays underneath: two leaders for a moment (a paused process
whose lease expired) still enqueue nobody twice.

Timing, for a lease period L and P polls per period: every process polls every L/P (the leader
renews, followers try to take the key), and the key expires (P-1)/P·L after its last renewal. A
leader that dies is therefore replaced within L: the key is gone at most (P-1)/P·L after the death
and a follower polls within the next L/P. A live leader keeps P-2 renewals of slack.
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


#: How often per lease period every process polls the lease (see the module docstring).
POLLS_PER_PERIOD = 5


class LeaderLease:
    def __init__(
        self,
        client: redis.Redis,
        name: str,
        lease_seconds: float,
        *,
        token: str | None = None,
        polls_per_period: int = POLLS_PER_PERIOD,
    ) -> None:
        self.redis = client
        self.name = name
        self.lease_seconds = lease_seconds
        #: Seconds between two polls: the leader renews, followers campaign.
        self.poll_seconds = lease_seconds / polls_per_period
        #: Milliseconds: the key's expiry after each renewal, one poll shorter than the lease period.
        self.expiry_ms = max(1, int(lease_seconds * 1000 * (polls_per_period - 1) / polls_per_period))
        self.token = token or new_token()
        #: Whether the last acquire or renew succeeded.
        self.held = False
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire_or_renew(self, *, raise_errors: bool = False) -> bool:
        """Renew the lease if we hold it, else take it if free: True when this process leads.

        On a Redis error this process steps down (without Redis nobody can enqueue anyway) and
        returns False, or raises when ``raise_errors``.
        """
        was_held = self.held
        try:
            renewed = bool(self._renew(keys=[self.name], args=[self.token, self.expiry_ms]))
            self.held = renewed or bool(self.redis.set(self.name, self.token, nx=True, px=self.expiry_ms))
        except redis.RedisError as exc:
            logger.warning("Could not renew the scheduler lease %s: %s.", self.name, exc)
            self.held = False
            if raise_errors:
                raise
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
