"""Benchmark: a scheduler-sized enqueue through ``enqueue_users`` against a plain ``actor.send()`` loop.

    python -m bench.enqueue [--users 100000] [--batch-size 1000] [--rounds 3]

Both run in the same process, on the same Redis (REDIS_URL, else an embedded redis-server), under a
throwaway namespace that is deleted afterwards. ``enqueue_users`` does everything a tick does after
the due-user query: dedup claims, job-status documents, broker messages. The plain loop only sends.

MongoDB: on the in-memory store (no MONGODB_URI) nothing is written and nothing Mongo-side is timed;
the job-status documents are still built (that CPU is ours and is timed) and every MongoDB round trip
the producer would make is counted and printed. With MONGODB_URI the writes are real and timed: point
it at a throwaway database, its job_statuses collection receives the benchmark's records.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from uuid import uuid4

from services.settings import Settings, configure


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.enqueue", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: SCHEDULER_BATCH_SIZE")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each; medians are shown")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = Settings.from_env()
    embedded = None
    if not base.redis_url:
        from embedded.redis_server import start_embedded_redis

        embedded = start_embedded_redis()
        base = configure(base, redis_url=embedded.url)
    settings = configure(base, redis_namespace=f"sellersync-bench-{uuid4().hex[:8]}")
    try:
        return run(settings, args.users, args.batch_size or settings.scheduler_batch_size, args.rounds)
    finally:
        _delete_namespace(settings)
        if embedded is not None:
            embedded.stop()


def run(settings: Settings, users: int, batch_size: int, rounds: int) -> int:
    import actors
    from models.connection import is_in_memory
    from services.jobs import JobProducer
    from services.redis_pool import get_redis

    real_mongo = not is_in_memory()
    client = get_redis(settings)
    queue = actors.process_user.queue_name
    queue_key = f"{settings.redis_namespace}:{queue}"
    user_ids = [f"bench-{n:06d}" for n in range(users)]
    trips: Counter[str] = Counter()
    producer = _counting_producer(JobProducer, settings, client, trips, write=real_mongo)
    producer.queue = actors.queue.DramatiqJobQueue(actors.process_user)
    batches = -(-users // batch_size)
    print(f"Redis {settings.redis_url} (PING round trip {_rtt_us(client):.0f} us), {users:,} users, ")
    print(f"batches of {batch_size} ({batches}), {rounds} rounds, plain loop and ours alternating.")

    plain_times, new_times, dedup_times = [], [], []
    for _ in range(rounds):
        _reset(settings, client)
        # The plain loop: one round trip per message, no dedup, no records.
        started = time.perf_counter()
        for user_id in user_ids:
            actors.process_user.send(user_id)
        plain_times.append(time.perf_counter() - started)
        assert client.llen(queue_key) == users
        _reset(settings, client)

        # Ours, every user new: claims win, records built (and written on a real MongoDB), messages sent.
        trips.clear()
        started = time.perf_counter()
        results = producer.enqueue_users(user_ids, "schedule", batch_size=batch_size, known=True)
        new_times.append(time.perf_counter() - started)
        assert sum(not r.deduplicated for r in results) == users and client.llen(queue_key) == users
        new_trips = dict(trips)

        # Ours again over the same users: every one deduplicated (a double tick).
        trips.clear()
        started = time.perf_counter()
        again = producer.enqueue_users(user_ids, "schedule", batch_size=batch_size, known=True)
        dedup_times.append(time.perf_counter() - started)
        assert all(r.deduplicated for r in again) and client.llen(queue_key) == users
        dedup_trips = dict(trips)

    plain, new, dedup = (statistics.median(t) for t in (plain_times, new_times, dedup_times))
    print(f"plain actor.send() loop:          {users / plain:>9,.0f} users/s  (median {plain:.2f} s)")
    print(f"enqueue_users, all new:           {users / new:>9,.0f} users/s  (median {new:.2f} s)")
    print(f"enqueue_users, all deduplicated:  {users / dedup:>9,.0f} users/s  (median {dedup:.2f} s)")
    print(f"ratio, enqueue_users all new / plain loop: {plain / new:.1f}x", end="")
    print(f"  (per round: {', '.join(f'{p / n:.1f}x' for p, n in zip(plain_times, new_times, strict=True))})")
    print(
        "Redis round trips per batch: 1 claim script (SET NX PX per user, in Lua) and 1 MULTI of HSET "
        "+ RPUSH for the messages; the plain loop makes 1 per user."
    )
    print(f"MongoDB round trips, all new: {_per_batch(new_trips, batches)}")
    print(f"MongoDB round trips, dedup:   {_per_batch(dedup_trips, batches)}")
    if real_mongo:
        print("MongoDB: a real server (MONGODB_URI); its round trips are inside the timings above.")
    else:
        print(
            "MongoDB: NOT timed (no MONGODB_URI; mongomock is not a server). Records were built but not "
            "written; add the round trips above at your server's latency."
        )
    return 0


def _rtt_us(client) -> float:
    samples = []
    for _ in range(200):
        started = time.perf_counter()
        client.ping()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def _reset(settings: Settings, client) -> None:
    names = list(client.scan_iter(match=f"{settings.redis_namespace}:*", count=10_000))
    for start in range(0, len(names), 10_000):
        client.delete(*names[start : start + 10_000])


def _counting_producer(base: type, settings: Settings, client, trips: Counter, *, write: bool):
    """The real producer, with each MongoDB round trip counted, and skipped unless ``write``."""
    from services.job_status import JobRecords

    class CountingRecords(JobRecords):
        def insert_queued(self, jobs, *, now=None) -> int:
            trips["insert_many job_statuses"] += 1
            if write:
                return super().insert_queued(jobs, now=now)
            return len(self.queued_documents(jobs, now=now))

    class CountingProducer(base):  # type: ignore[misc, valid-type]
        def _finished_jobs(self, job_ids: list[str]) -> set[str]:
            if not job_ids:
                return set()
            trips["find job_statuses (finished jobs among held keys)"] += 1
            return super()._finished_jobs(job_ids) if write else set()

        def _known_users(self, user_ids: list[str]) -> list[str]:
            trips["find users"] += 1
            return super()._known_users(user_ids) if write else user_ids

    return CountingProducer(None, settings=settings, client=client, records=CountingRecords(settings))


def _per_batch(trips: dict[str, int], batches: int) -> str:
    if not trips:
        return "none"
    return "; ".join(f"{name}: {count} ({count / batches:g} per batch)" for name, count in trips.items())


def _delete_namespace(settings: Settings) -> None:
    from services.redis_pool import get_redis

    _reset(settings, get_redis(settings))


if __name__ == "__main__":
    sys.exit(main())
