"""What a refused request must leave as it was: every document and every Redis key of the namespace."""

from __future__ import annotations

import redis


def store_snapshot(redis_client: redis.Redis, namespace: str) -> tuple:
    """Every document of every collection (one round trip) and every Redis key of the namespace.

    Two snapshots are equal when nothing was written in between (Redis values compared as DUMPs).
    """
    from models import JobStatus

    database = JobStatus._get_collection().database
    first, *others = sorted(database.list_collection_names())

    def tagged(name: str) -> list[dict]:
        return [{"$project": {"collection": {"$literal": name}, "document": "$$ROOT"}}]

    union = [{"$unionWith": {"coll": name, "pipeline": tagged(name)}} for name in others]
    documents = sorted(repr(d) for d in database[first].aggregate(tagged(first) + union))
    keys = sorted(redis_client.scan_iter(match=f"{namespace}:*", count=1000))
    pipe = redis_client.pipeline()
    for name in keys:
        pipe.dump(name)
    return documents, list(zip(keys, pipe.execute(), strict=True))
