"""Benchmark: a scheduler-sized enqueue through ``enqueue_users`` against a plain ``actor.send()`` loop.

    python -m bench.enqueue [--users 100000] [--batch-size 1000] [--rounds 3]

Both run in the same process, on the same loopback servers (an embedded redis-server and the embedded
document server, both separate processes), under a throwaway namespace and database. Rounds
alternate: the plain loop, then ours for every user new, then ours again for the same users (every
one deduplicated: a double tick). ``enqueue_users`` does everything a tick does after the due-user
query: dedup claims, job-status documents (written: the MongoDB round trips are inside the timings)
and broker messages. The plain loop only sends. MongoDB round trips per batch are counted too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter

from bench.common import Figure, apply_size, finish, size_arguments, start_stack
from services.settings import Settings, get_settings

DEFAULTS = dict(users=10_000, rounds=2)
#: The deduplicated pass runs over at most this many users: the embedded document server answers the
#: ``job_id $in [...]`` lookup of each batch with a collection scan, so it grows with the records.
DEDUP_MAX_USERS = 5_000
SIZES = {"smoke": dict(users=500, rounds=1), "full": dict(users=100_000, rounds=3)}
TARGET = "≥ 10"
#: The key of ``trips`` that sums the microseconds spent waiting for the document server.
MONGO_MICROSECONDS = "mongo_us"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.enqueue", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULTS["users"])
    parser.add_argument("--batch-size", type=int, default=None, help="default: SCHEDULER_BATCH_SIZE")
    parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"], help="alternating runs of each")
    size_arguments(parser)
    args = parser.parse_args(argv)
    apply_size(args, SIZES, DEFAULTS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with start_stack(time_scale=None):
        settings = get_settings()
        figures, details = run(
            settings, args.users, args.batch_size or settings.scheduler_batch_size, args.rounds
        )
    return finish(figures, details, args.json)


def run(settings: Settings, users: int, batch_size: int, rounds: int) -> tuple[list[Figure], dict]:
    import actors
    from models import JobStatus
    from services.jobs import JobProducer
    from services.redis_pool import get_redis

    real_mongo = True
    client = get_redis(settings)
    queue = actors.process_user.queue_name
    queue_key = f"{settings.redis_namespace}:{queue}"
    user_ids = [f"bench-{n:06d}" for n in range(users)]
    dedup_ids = user_ids[:DEDUP_MAX_USERS]
    trips: Counter[str] = Counter()
    producer = _counting_producer(JobProducer, settings, client, trips, write=real_mongo)
    producer.queue = actors.queue.DramatiqJobQueue(actors.process_user)
    batches = -(-users // batch_size)
    print(f"Redis {settings.redis_url} (PING round trip {_rtt_us(client):.0f} us), {users:,} users, ")
    print(f"batches of {batch_size} ({batches}), {rounds} rounds, plain loop and ours alternating.")

    plain_times, new_times, dedup_times, new_mongo = [], [], [], []
    for _ in range(rounds):
        _reset(settings, client)
        JobStatus._get_collection().delete_many({})
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
        new_mongo.append(trips.pop(MONGO_MICROSECONDS, 0) / 1e6)
        new_trips = dict(trips)

        # Ours again over the same users: every one deduplicated (a double tick).
        trips.clear()
        started = time.perf_counter()
        again = producer.enqueue_users(dedup_ids, "schedule", batch_size=batch_size, known=True)
        dedup_times.append(time.perf_counter() - started)
        assert all(r.deduplicated for r in again) and client.llen(queue_key) == users
        trips.pop(MONGO_MICROSECONDS, 0)
        dedup_trips = dict(trips)

    plain, new, dedup = (statistics.median(t) for t in (plain_times, new_times, dedup_times))
    without = statistics.median(n - m for n, m in zip(new_times, new_mongo, strict=True))
    print(f"enqueue_users, all new, waiting for the document server: {statistics.median(new_mongo):.2f} s")
    print(f"plain actor.send() loop:          {users / plain:>9,.0f} users/s  (median {plain:.2f} s)")
    print(f"enqueue_users, all new:           {users / new:>9,.0f} users/s  (median {new:.2f} s)")
    print(
        f"enqueue_users, deduplicated:      {len(dedup_ids) / dedup:>9,.0f} users/s  (median {dedup:.2f} s)"
    )
    print(f"ratio, enqueue_users all new / plain loop: {plain / new:.1f}x", end="")
    print(f"  (per round: {', '.join(f'{p / n:.1f}x' for p, n in zip(plain_times, new_times, strict=True))})")
    print(
        "Redis round trips per batch: 1 claim script (SET NX PX per user, in Lua) and 1 MULTI of HSET "
        "+ RPUSH for the messages; the plain loop makes 1 per user."
    )
    print(f"MongoDB round trips, all new: {_per_batch(new_trips, batches)}")
    print(f"MongoDB round trips, dedup:   {_per_batch(dedup_trips, batches)}")
    print("MongoDB: the embedded document server; its round trips are inside the timings above.")
    per_round = ", ".join(f"{p / n:.1f}x" for p, n in zip(plain_times, new_times, strict=True))
    figures = [
        Figure(
            "enqueue",
            f"{users:,} due users, enqueue_users vs plain send() loop",
            users / new,
            unit="users/s",
            baseline=users / plain,
            ratio=plain / new,
            target=TARGET,
            note=f"per round: {per_round}",
        ).check(),
        Figure(
            "enqueue",
            "  the same, less the document server's insert time",
            users / without,
            unit="users/s",
            baseline=users / plain,
            ratio=plain / without,
            note="our own CPU and Redis round trips; the inserts are what the embedded server makes slow",
        ),
        Figure(
            "enqueue",
            f"{len(dedup_ids):,} of them again, all deduplicated",
            len(dedup_ids) / dedup,
            unit="users/s",
            baseline=users / plain,
            ratio=(len(dedup_ids) / dedup) / (users / plain),
        ),
        Figure(
            "enqueue",
            "MongoDB round trips per batch (all new)",
            sum(new_trips.values()) / batches,
            note=_per_batch(new_trips, batches),
        ),
    ]
    details = {"newTrips": new_trips, "dedupTrips": dedup_trips, "batches": batches, "batchSize": batch_size}
    return figures, details


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
    """The real producer, with each MongoDB round trip counted and timed (``trips["seconds"]``, in
    microseconds), and skipped unless ``write``."""
    from models import JobStatus
    from services.job_status import JobRecords

    def timed(call):
        started = time.perf_counter()
        try:
            return call()
        finally:
            trips[MONGO_MICROSECONDS] += int((time.perf_counter() - started) * 1e6)

    class CountingRecords(JobRecords):
        def insert_queued(self, jobs, *, now=None) -> int:
            trips["insert_many job_statuses"] += 1
            documents = self.queued_documents(jobs, now=now)  # our CPU: timed as ours
            if write and documents:
                timed(lambda: JobStatus._get_collection().insert_many(documents, ordered=False))
            return len(documents)

    class CountingProducer(base):  # type: ignore[misc, valid-type]
        def _finished_jobs(self, job_ids: list[str]) -> set[str]:
            if not job_ids:
                return set()
            trips["find job_statuses (finished jobs among held keys)"] += 1
            return timed(lambda: super(CountingProducer, self)._finished_jobs(job_ids)) if write else set()

        def _known_users(self, user_ids: list[str]) -> list[str]:
            trips["find users"] += 1
            return super()._known_users(user_ids) if write else user_ids

    return CountingProducer(None, settings=settings, client=client, records=CountingRecords(settings))


def _per_batch(trips: dict[str, int], batches: int) -> str:
    if not trips:
        return "none"
    return "; ".join(f"{name}: {count} ({count / batches:g} per batch)" for name, count in trips.items())


if __name__ == "__main__":
    sys.exit(main())
