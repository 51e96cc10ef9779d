"""The Redis cache that dashboards read: ``<ns>:cache:analysis:<user_id>:<country>``."""

from __future__ import annotations

import json
from typing import Any

import redis

from services.platform.redis_pool import get_redis, key
from services.platform.settings import Settings


def analysis_key(settings: Settings, user_id: str, country: str) -> str:
    return key(settings, "cache", "analysis", user_id, country)


def write_analysis(
    user_id: str,
    country: str,
    analysis: dict[str, Any],
    *,
    settings: Settings,
    client: redis.Redis | None = None,
) -> str:
    """Store the analysis JSON with a TTL of 2 × SYNC_INTERVAL; returns the key.

    One SET with EX: a reader sees the old value or the new one, never a half-written one.
    """
    client = client or get_redis(settings)
    name = analysis_key(settings, user_id, country)
    client.set(name, json.dumps(analysis, separators=(",", ":")), ex=settings.cache_ttl_seconds)
    return name


def read_analysis(
    user_id: str, country: str, *, settings: Settings, client: redis.Redis | None = None
) -> dict[str, Any] | None:
    client = client or get_redis(settings)
    raw = client.get(analysis_key(settings, user_id, country))
    return json.loads(raw) if raw else None
