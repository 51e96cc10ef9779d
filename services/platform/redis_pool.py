"""The one Redis connection pool of a process, shared by the broker, the cache and locks."""

from __future__ import annotations

import threading

import redis

from services.platform.settings import Settings

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def get_redis(settings: Settings) -> redis.Redis:
    """A client on the process-wide pool for ``settings.redis_url`` (built on first use)."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (dev mode and tests start an embedded redis-server first)")
    with _lock:
        client = _clients.get(settings.redis_url)
        if client is None:
            pool = redis.ConnectionPool.from_url(settings.redis_url, health_check_interval=30)
            client = _clients[settings.redis_url] = redis.Redis(connection_pool=pool)
        return client


def key(settings: Settings, *parts: object) -> str:
    """A Redis key under our namespace: ``key(s, "cache", "u1")`` → ``"sellersync:cache:u1"``."""
    return ":".join([settings.redis_namespace, *map(str, parts)])
