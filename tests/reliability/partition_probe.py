"""The partition scenario's eyes in the servers' namespace: ``python -m tests.reliability.partition_probe``.

The test's own process lives outside the namespaces, and every address the scenario uses lives
inside them, so the test asks this process (started with ``ip netns exec <servers>``, its settings in
the environment) over stdin/stdout: one JSON request a line, one JSON answer a line.

Requests: ``{"do": "seed", "prefix": P, "count": N, "latency_ms": L}``, ``{"do": "enqueue", "users":
[...]}`` (their job ids), ``{"do": "records", "jobs": [...]}`` (status, fence, attempts, user),
``{"do": "unfinished", "jobs": [...]}``, ``{"do": "content"}`` (support.stored_content) and
``{"do": "forget"}`` (support.forget_synced_data).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import requests


def seed(prefix: str, count: int, latency_ms: int) -> dict:
    from services.operations.accounts import connect_account, create_user
    from services.operations.demo import sandbox_token
    from services.platform.settings import get_settings
    from tests.reliability.support import countries_of, fixed_seller_data, seller_name

    settings, today = get_settings(), datetime.now(UTC)
    users = [f"{prefix}{index:04d}" for index in range(count)]
    for index, user_id in enumerate(users):
        create_user(user_id)
        for country in countries_of(index):
            seller = seller_name(user_id, country)
            admin = f"{settings.sp_api_endpoint}/_sandbox/sellers/{seller}"
            requests.put(f"{admin}/data", json=fixed_seller_data(seller, country, today), timeout=10)
            requests.put(f"{admin}/faults", json=[{"latencyMs": latency_ms}], timeout=10)
            connect_account(user_id, country, sandbox_token(seller), seller_id=seller, settings=settings)
    return {"users": users}


def enqueue(users: list[str]) -> dict:
    import actors
    from services.platform.settings import get_settings

    producer = actors.producer(get_settings())
    return {"jobs": [enqueued.job_id for enqueued in producer.enqueue_users(users, "schedule")]}


def records(job_ids: list[str]) -> dict:
    from models import JobStatus

    fields = {"job_id": 1, "user_id": 1, "status": 1, "attempts": 1, "fence": 1, "_id": 0}
    found = JobStatus._get_collection().find({"job_id": {"$in": job_ids}}, fields)
    return {"records": {row["job_id"]: row for row in found}}


def unfinished(job_ids: list[str]) -> dict:
    from models import JobStatus

    active = ("queued", "running", "retrying")
    return {"unfinished": JobStatus.objects(job_id__in=job_ids, status__in=active).count()}


def content() -> dict:
    from services.platform.redis_pool import get_redis
    from services.platform.settings import get_settings
    from tests.reliability.support import stored_content

    settings = get_settings()
    return {"content": stored_content(settings, get_redis(settings))}


def forget() -> dict:
    from services.platform.redis_pool import get_redis
    from services.platform.settings import get_settings
    from tests.reliability.support import forget_synced_data

    settings = get_settings()
    forget_synced_data(settings, get_redis(settings))
    return {"forgotten": True}


def answer(request: dict) -> dict:
    action = request["do"]
    if action == "seed":
        return seed(request["prefix"], request["count"], request["latency_ms"])
    if action == "enqueue":
        return enqueue(request["users"])
    if action == "records":
        return records(request["jobs"])
    if action == "unfinished":
        return unfinished(request["jobs"])
    if action == "content":
        return content()
    if action == "forget":
        return forget()
    return {"error": f"unknown request {action!r}"}


def main() -> int:
    import actors  # noqa: F401  (the broker and the store, built before the first request)
    from services.platform.settings import get_settings
    from services.platform.store import connect_store

    connect_store(get_settings())
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line))
        except Exception as exc:  # the test reads the failure, and may ask again
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
