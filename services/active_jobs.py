"""One job per user: ``<ns>:active:<user_id>`` holds the id of the user's queued or running job.

Claimed with set-if-absent, taken over and released with compare-and-swap scripts, so that only the
job that holds the key can free it. A safety TTL frees a user whose release was lost.
The scheduler claims and reads a whole batch of keys in one pipelined round trip (``claim_many``,
``current_many``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import redis

from services.redis_pool import key
from services.settings import Settings

#: At least this long before a lost release of the key unblocks its user.
MIN_TTL = timedelta(hours=6)

_SWAP = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class ActiveJobs:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.redis = client
        self._swap = client.register_script(_SWAP)
        self._release = client.register_script(_RELEASE)

    def key(self, user_id: str) -> str:
        return key(self.settings, "active", user_id)

    @property
    def ttl_ms(self) -> int:
        """Longer than the worst case of a job: every attempt at its time limit plus every backoff."""
        s = self.settings
        worst = (
            s.job_max_retries + 1
        ) * s.job_time_limit_seconds * 1000 + s.job_max_retries * s.job_max_backoff_ms
        return max(worst, int(MIN_TTL.total_seconds() * 1000))

    def claim(self, user_id: str, job_id: str) -> bool:
        return bool(self.redis.set(self.key(user_id), job_id, nx=True, px=self.ttl_ms))

    def claim_many(self, claims: Sequence[tuple[str, str]]) -> list[str | None]:
        """Claim many ``(user_id, job_id)`` pairs in one round trip; returns each user's job id after it.

        A returned id equal to the one offered means the claim won; another id is the user's current
        job; None means the key vanished between the claim and the read (claim that user again).
        """
        pipe = self.redis.pipeline(transaction=False)
        ttl_ms = self.ttl_ms
        for user_id, job_id in claims:
            name = self.key(user_id)
            pipe.set(name, job_id, nx=True, px=ttl_ms)
            pipe.get(name)
        replies = pipe.execute()
        return [value.decode() if value is not None else None for value in replies[1::2]]

    def current_many(self, user_ids: Sequence[str]) -> list[str | None]:
        """The current job id of each user (None: no queued or running job), in one round trip."""
        if not user_ids:
            return []
        values = self.redis.mget([self.key(u) for u in user_ids])
        return [value.decode() if value is not None else None for value in values]

    def current(self, user_id: str) -> str | None:
        value = self.redis.get(self.key(user_id))
        return value.decode() if value is not None else None

    def take_over(self, user_id: str, stale_job_id: str, job_id: str) -> bool:
        return bool(self._swap(keys=[self.key(user_id)], args=[stale_job_id, job_id, self.ttl_ms]))

    def release(self, user_id: str, job_id: str) -> bool:
        return bool(self._release(keys=[self.key(user_id)], args=[job_id]))
