"""The Redis cache that dashboards read: ``<ns>:cache:analysis:<user_id>:<country>``."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import redis

from services.platform.redis_pool import get_redis, key
from services.platform.settings import Settings

#: KEYS: the analysis; ARGV: its JSON, its ``computedAt``, the TTL in seconds. Sets it unless the
#: cached analysis was computed later (ISO-8601 UTC to the millisecond: text order is time order).
#: Returns 1 when set, 0 when a newer analysis is cached.
_SET_FORWARD = """
local cached = redis.call('GET', KEYS[1])
if cached then
  local ok, stored = pcall(cjson.decode, cached)
  if ok and type(stored) == 'table' and type(stored['computedAt']) == 'string'
      and stored['computedAt'] > ARGV[2] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


@lru_cache(maxsize=32)
def _set_forward(client: redis.Redis):
    """The script, registered once per client (its SHA is computed once, then EVALSHA)."""
    return client.register_script(_SET_FORWARD)


def analysis_key(settings: Settings, user_id: str, country: str) -> str:
    return key(settings, "cache", "analysis", user_id, country)


def write_analysis(
    user_id: str,
    country: str,
    analysis: dict[str, Any],
    *,
    settings: Settings,
    client: redis.Redis | None = None,
) -> bool:
    """Store the analysis JSON with a TTL of 2 × SYNC_INTERVAL, unless the cached one was computed
    later (an execution that lost its lease may deliver an older one late); whether it was stored.

    One script, one round trip: a reader sees the old value or the new one, never a half-written one.
    """
    client = client or get_redis(settings)
    value = json.dumps(analysis, separators=(",", ":"))
    stored = _set_forward(client)(
        keys=[analysis_key(settings, user_id, country)],
        args=[value, analysis["computedAt"], settings.cache_ttl_seconds],
    )
    return bool(stored)


def read_analysis(
    user_id: str, country: str, *, settings: Settings, client: redis.Redis | None = None
) -> dict[str, Any] | None:
    client = client or get_redis(settings)
    raw = client.get(analysis_key(settings, user_id, country))
    return json.loads(raw) if raw else None
