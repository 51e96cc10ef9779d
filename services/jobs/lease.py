"""One execution of a job writes at a time: a lease in Redis holding a fencing token.

The rule (README, "Fencing"):

- An execution takes ``<ns>:job:<job_id>:lease`` before the job's record is started. The lease holds
  a fencing token from one counter for every job (``<ns>:job:fence``, INCR: it only grows, and it
  never expires, so a later execution always holds a larger token than any earlier one).
- The lease expires after :attr:`LeaseTiming.lease_ms` unless renewed; one thread per worker process
  renews every lease the process holds, every :attr:`LeaseTiming.renew_ms`, in one round trip.
- Before each write the execution checks a *local* deadline: the monotonic time at which its last
  successful take or renewal was *sent*, plus the lease less one renewal period. Redis started the
  expiry no earlier than that send, so while the local deadline holds, nobody else can hold the
  lease, and the check costs no round trip. A renewal that finds the lease gone or taken marks it
  lost at once.
- A process paused between its check and its write (a stop signal, a long pause of the host) is left
  to the store: the record's writes carry the token (``JobRecords(fence=...)``), and the watermark and
  ``last_synced_at`` only move forward.

Every duration is a fraction of BROKER_HEARTBEAT_TIMEOUT_MS, so a run that scales time (the
reliability scenarios' 4 s heartbeat) scales the lease with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from services.platform.errors import LeaseLost
from services.platform.redis_pool import key
from services.platform.settings import Settings

logger = logging.getLogger(__name__)

#: KEYS: the lease, the fencing counter; ARGV: the lease's expiry in ms. Returns ``{1, token}`` when
#: taken, ``{0, ms left}`` when another execution holds it. The token is drawn first and the lease
#: set only if free (two commands where the lease is free, the usual case; a token drawn for a held
#: lease is skipped: tokens need only grow).
_ACQUIRE = """
local token = redis.call('INCR', KEYS[2])
if redis.call('SET', KEYS[1], token, 'PX', ARGV[1], 'NX') then return {1, token} end
return {0, redis.call('PTTL', KEYS[1])}
"""
#: KEYS: leases; ARGV: the expiry in ms, then each lease's token. Returns the 1-based indexes of the
#: leases that are no longer held by that token (expired, or taken by a newer execution).
_RENEW = """
local lost = {}
for i, name in ipairs(KEYS) do
  if redis.call('GET', name) == ARGV[i + 1] then redis.call('PEXPIRE', name, ARGV[1])
  else lost[#lost + 1] = i end
end
return lost
"""
#: KEYS: the lease; ARGV: the token. Deletes the lease only while that token holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class LeaseTiming:
    """The lease's durations, in ms, all from BROKER_HEARTBEAT_TIMEOUT_MS (60 s: 30 s, 7.5 s, 22.5 s).

    Half the heartbeat timeout, so that when a silent worker's messages are redelivered its leases
    have usually expired already; renewed four times a lease, so that one late renewal costs nothing.
    """

    lease_ms: int
    renew_ms: int

    @classmethod
    def of(cls, settings: Settings) -> LeaseTiming:
        lease = max(4, settings.broker_heartbeat_timeout_ms // 2)
        return cls(lease_ms=lease, renew_ms=lease // 4)

    @property
    def valid_ms(self) -> int:
        """How long after a take or renewal was sent the holder may still write without asking Redis."""
        return self.lease_ms - self.renew_ms


@dataclass
class JobLease:
    """One execution's hold on its job: the token, and until when it may write (monotonic seconds)."""

    job_id: str
    token: int
    deadline: float
    lost: str | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def check(self) -> None:
        """Raise LeaseLost unless this execution may still write (no round trip)."""
        if self.lost is None and self.clock() >= self.deadline:
            self.lost = "its lease ran out without a renewal"
        if self.lost is not None:
            message = f"the execution with fencing token {self.token} lost {self.lost}"
            raise LeaseLost(f"job {self.job_id}: {message}.")


class LeaseKeeper:
    """Takes, renews and releases the job leases of one worker process (thread-safe)."""

    def __init__(self, client: redis.Redis, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.timing = LeaseTiming.of(settings)
        self._client, self._settings, self._clock = client, settings, clock
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._held: dict[str, JobLease] = {}
        self._lock = threading.Lock()
        self._renewer: threading.Thread | None = None

    def lease_key(self, job_id: str) -> str:
        return key(self._settings, "job", job_id, "lease")

    def acquire(self, job_id: str) -> JobLease | int:
        """The lease, or the milliseconds left of another execution's (the message must wait)."""
        sent = self._clock()
        taken, value = self._acquire(
            keys=[self.lease_key(job_id), key(self._settings, "job", "fence")], args=[self.timing.lease_ms]
        )
        if not taken:
            return max(int(value), 0)
        lease = JobLease(job_id, int(value), sent + self.timing.valid_ms / 1000, clock=self._clock)
        with self._lock:
            self._held[job_id] = lease
        self._ensure_renewer()
        return lease

    def release(self, lease: JobLease) -> None:
        """Give the lease up (only while it is still this execution's)."""
        with self._lock:
            if self._held.get(lease.job_id) is lease:
                del self._held[lease.job_id]
        if lease.lost is None:
            self._release(keys=[self.lease_key(lease.job_id)], args=[lease.token])

    def renew(self) -> None:
        """One round trip renewing every held lease; a lease no longer ours is marked lost."""
        with self._lock:
            leases = list(self._held.values())
        if not leases:
            return
        sent = self._clock()
        lost = self._renew(
            keys=[self.lease_key(lease.job_id) for lease in leases],
            args=[self.timing.lease_ms, *(lease.token for lease in leases)],
        )
        gone = {int(index) - 1 for index in lost}
        for index, lease in enumerate(leases):
            if index in gone:
                lease.lost = lease.lost or "its lease to an expiry or a newer execution"
            else:
                lease.deadline = max(lease.deadline, sent + self.timing.valid_ms / 1000)

    def _ensure_renewer(self) -> None:
        with self._lock:
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(target=self._renew_forever, name="job-leases", daemon=True)
                self._renewer.start()

    def _renew_forever(self) -> None:
        # A failed renewal is only logged: the leases' local deadlines run out by themselves, and the
        # jobs stop before their next write.
        while True:
            time.sleep(self.timing.renew_ms / 1000)
            try:
                self.renew()
            except redis.RedisError as exc:
                logger.warning("Could not renew the job leases of this process: %s", exc)
