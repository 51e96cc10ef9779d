"""One job per user: ``<ns>:active:<user_id>`` holds the id of the user's queued or running job.

Claimed with set-if-absent, taken over and released with compare-and-swap scripts, so that only the
job that holds the key can free it. A safety TTL frees a user whose release was lost.
The scheduler claims (``claim_many``, one script call) and reads (``current_many``, one MGET) a whole
batch of keys per round trip.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import redis

from services.platform.redis_pool import key
from services.platform.settings import Settings

#: At least this long before a lost release of the key unblocks its user.
MIN_TTL = timedelta(hours=6)

_SWAP = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1
end
return 0
"""
#: ARGV: the key prefix, the TTL in ms, a JSON list of user ids, a JSON list of job ids (one per user).
#: Returns ``[position, current job id, ...]`` for the claims that lost only (usually none).
#: The lists travel as two JSON strings rather than 2,000 arguments, and the winners are not sent
#: back: packing and parsing thousands of small values is most of the client's cost. Keys are built
#: inside the script, as Dramatiq's own scripts do: fine on one Redis server, not on Redis Cluster.
_CLAIM_MANY = """
local prefix, ttl = ARGV[1], ARGV[2]
local users, jobs = cjson.decode(ARGV[3]), cjson.decode(ARGV[4])
local lost = {}
for i = 1, #users do
  local name = prefix .. users[i]
  if not redis.call('set', name, jobs[i], 'NX', 'PX', ttl) then
    lost[#lost + 1] = i
    lost[#lost + 1] = redis.call('get', name)
  end
end
return lost
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
        self._claim_many = client.register_script(_CLAIM_MANY)

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
        """Claim many ``(user_id, job_id)`` pairs in one script call; returns each user's job id after it.

        A returned id equal to the one offered means the claim won; another id is the user's current
        job; None means the key vanished in between (it cannot inside the script; kept for safety).
        """
        if not claims:
            return []
        users = json.dumps([user_id for user_id, _ in claims])
        jobs = json.dumps([job_id for _, job_id in claims])
        lost = self._claim_many(keys=[], args=[self.key(""), self.ttl_ms, users, jobs])
        values: list[str | None] = [job_id for _, job_id in claims]
        for position, value in zip(lost[::2], lost[1::2], strict=True):
            values[position - 1] = value.decode() if value is not None else None
        return values

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
