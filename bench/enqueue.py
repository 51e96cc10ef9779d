"""Benchmark: a scheduler-sized enqueue through ``enqueue_users`` against two plain loops.

    python -m bench.enqueue [--users 100000] [--batch-size 1000] [--rounds 3]

Everything runs in the same process, on the same loopback servers (an embedded redis-server and the
embedded document server, both separate processes), under a throwaway namespace and database. Rounds
alternate: the plain ``send()`` loop, the seed's producer loop, then ours for every user new, then ours
again for the same users (every one deduplicated: a double tick).

- ``enqueue_users`` does everything a tick does after the due-user query: dedup claims, job-status
  documents (written: the MongoDB round trips are inside the timings) and broker messages.
- The seed's producer loop does the same work as ours without the batching and the dedup: for each
  user, one insert of its queued job record and one ``send()`` of its message. It is the same-work
  baseline (target ≥ 1).
- The plain loop only sends (no records): the baseline of our Redis side, i.e. ``enqueue_users`` less
  the time spent waiting for the document server (target ≥ 10).
MongoDB round trips per batch are counted too.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.common import arguments, start_stack
from bench.figures import Figure, finish
from services.platform.settings import Settings, get_settings

DEFAULTS = dict(users=10_000, batch_size=0, rounds=2)
HELPS = dict(batch_size="default (0): SCHEDULER_BATCH_SIZE", rounds="alternating runs of each")
#: The deduplicated pass runs over at most this many users: the embedded document server answers the
#: ``job_id $in [...]`` lookup of each batch with a collection scan, so it grows with the records.
DEDUP_MAX_USERS = 5_000
#: The seed's producer loop (an insert round trip and a send per user) runs over at most this many
#: users and is compared by rate: a round trip per record makes it the slowest of the four.
SEED_LOOP_MAX_USERS = 5_000
SIZES = {"smoke": dict(users=500, rounds=1), "full": dict(users=100_000, rounds=3)}
#: enqueue_users against the loop that does the same work (sends and records), users/s.
TARGET_SAME_WORK = "≥ 1"
#: enqueue_users' Redis side (the document server's time taken out) against the bare send() loop.
TARGET_REDIS_SIDE = "≥ 10"
#: The key of ``trips`` that sums the microseconds spent waiting for the document server.
MONGO_MICROSECONDS = "mongo_us"


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.enqueue", __doc__, DEFAULTS, SIZES, HELPS)
    with start_stack(time_scale=None):
        settings = get_settings()
        figures, details = run(
            settings, args.users, args.batch_size or settings.scheduler_batch_size, args.rounds
        )
    return finish(figures, details, args.json)


@dataclass
class Timings:
    """Seconds per round of each side (``new_mongo``: the part of ``new`` spent waiting for MongoDB)."""

    plain: list[float] = field(default_factory=list)
    seed: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)
    new_mongo: list[float] = field(default_factory=list)
    dedup: list[float] = field(default_factory=list)


def run(settings: Settings, users: int, batch_size: int, rounds: int) -> tuple[list[Figure], dict]:
    import actors
    from services.jobs.producer import JobProducer
    from services.platform.redis_pool import get_redis

    client = get_redis(settings)
    user_ids = [f"bench-{n:06d}" for n in range(users)]
    trips: Counter[str] = Counter()
    producer = _counting_producer(JobProducer, settings, client, trips, write=True)
    producer.queue = actors.queue.DramatiqJobQueue(actors.process_user)
    batches = -(-users // batch_size)
    print(f"Redis {settings.redis_url} (PING round trip {_rtt_us(client):.0f} us), {users:,} users, ")
    print(f"batches of {batch_size} ({batches}), {rounds} rounds, the loops and ours alternating.")
    timings = Timings()
    seed_ids = user_ids[:SEED_LOOP_MAX_USERS]
    for _ in range(rounds):
        timings.plain.append(_plain_loop(settings, client, user_ids))
        timings.seed.append(_seed_loop(settings, client, producer, seed_ids))
        new_trips, dedup_trips = _ours(settings, client, producer, trips, user_ids, batch_size, timings)
    rates = _rates(timings, users, len(seed_ids), min(users, DEDUP_MAX_USERS))
    _print_rates(rates, timings)
    print(f"MongoDB round trips, all new: {_per_batch(new_trips, batches)}")
    print(f"MongoDB round trips, dedup:   {_per_batch(dedup_trips, batches)}")
    print("MongoDB: the embedded document server; its round trips are inside the timings above.")
    figures = _figures(rates, timings, users, new_trips, batches)
    details = {"newTrips": new_trips, "dedupTrips": dedup_trips, "batches": batches, "batchSize": batch_size}
    details["usersPerSecond"] = rates
    return figures, details


def _plain_loop(settings: Settings, client, user_ids: list[str]) -> float:
    """The bare baseline: one ``send()`` per user, no dedup, no records."""
    import actors

    _reset(settings, client)
    started = time.perf_counter()
    for user_id in user_ids:
        actors.process_user.send(user_id)
    seconds = time.perf_counter() - started
    assert client.llen(_queue_key(settings)) == len(user_ids)
    return seconds


def _seed_loop(settings: Settings, client, producer, user_ids: list[str]) -> float:
    """The seed's producer: for each user, insert its queued job record, then send its message."""
    from models import JobStatus

    _reset(settings, client)
    JobStatus._get_collection().delete_many({})
    records, queue = JobStatus._get_collection(), producer.queue
    started = time.perf_counter()
    for user_id in user_ids:
        job_id = queue.new_job_id()
        records.insert_one(producer.records.queued_documents([(job_id, user_id, "schedule")])[0])
        queue.send(job_id, user_id, "schedule")
    seconds = time.perf_counter() - started
    assert client.llen(_queue_key(settings)) == len(user_ids) == records.count_documents({})
    return seconds


def _ours(settings, client, producer, trips: Counter, user_ids, batch_size, timings: Timings):
    """``enqueue_users`` for every user new, then again over some of them (all deduplicated)."""
    from models import JobStatus

    _reset(settings, client)
    JobStatus._get_collection().delete_many({})
    trips.clear()
    started = time.perf_counter()
    results = producer.enqueue_users(user_ids, "schedule", batch_size=batch_size, known=True)
    timings.new.append(time.perf_counter() - started)
    assert sum(not r.deduplicated for r in results) == len(user_ids)
    assert client.llen(_queue_key(settings)) == len(user_ids)
    timings.new_mongo.append(trips.pop(MONGO_MICROSECONDS, 0) / 1e6)
    new_trips = dict(trips)

    trips.clear()
    dedup_ids = user_ids[:DEDUP_MAX_USERS]
    started = time.perf_counter()
    again = producer.enqueue_users(dedup_ids, "schedule", batch_size=batch_size, known=True)
    timings.dedup.append(time.perf_counter() - started)
    assert all(r.deduplicated for r in again) and client.llen(_queue_key(settings)) == len(user_ids)
    trips.pop(MONGO_MICROSECONDS, 0)
    return new_trips, dict(trips)


def _rates(timings: Timings, users: int, seed_users: int, dedup_users: int) -> dict[str, float]:
    """Users per second of each side, from the median round (the Redis side: each round less its
    MongoDB wait)."""
    redis_side = statistics.median(n - m for n, m in zip(timings.new, timings.new_mongo, strict=True))
    return {
        "plain": users / statistics.median(timings.plain),
        "seed": seed_users / statistics.median(timings.seed),
        "new": users / statistics.median(timings.new),
        "redis_side": users / redis_side,
        "dedup": dedup_users / statistics.median(timings.dedup),
    }


def _print_rates(rates: dict[str, float], timings: Timings) -> None:
    waited = statistics.median(timings.new_mongo)
    print(f"enqueue_users, all new, waiting for the document server: {waited:.2f} s")
    print(f"plain actor.send() loop:            {rates['plain']:>9,.0f} users/s")
    print(f"seed producer loop (insert + send): {rates['seed']:>9,.0f} users/s")
    print(f"enqueue_users, all new:             {rates['new']:>9,.0f} users/s")
    print(f"  its Redis side (less MongoDB):    {rates['redis_side']:>9,.0f} users/s")
    print(f"enqueue_users, deduplicated:        {rates['dedup']:>9,.0f} users/s")
    print(
        "Redis round trips per batch: 1 claim script (SET NX PX per user, in Lua) and 1 MULTI of HSET "
        "+ RPUSH for the messages; the plain loops make 1 per user (the seed's also 1 insert per user)."
    )


def _figures(
    rates: dict[str, float], timings: Timings, users: int, new_trips: dict, batches: int
) -> list[Figure]:
    seed_users = min(users, SEED_LOOP_MAX_USERS)
    pairs = zip(timings.new, timings.seed, strict=True)
    per_round = ", ".join(f"{(users / new) / (seed_users / seed):.1f}x" for new, seed in pairs)
    plain = rates["plain"]

    def row(name: str, ours: float, baseline: float | None = None, **extra: str) -> Figure:
        return Figure("enqueue", name, ours, "users/s" if baseline else "", baseline, **extra).check()

    return [
        row(f"{users:,} due users, enqueue_users vs the seed's insert + send() loop", rates["new"],
            rates["seed"], target=TARGET_SAME_WORK,
            note=f"same work (a record and a message per user); per round: {per_round}"),
        row("  the same, vs a bare send() loop (no records)", rates["new"], plain,
            note="unlike work: the loop writes no job records"),
        row("  its Redis side (less the document server's time) vs a bare send() loop", rates["redis_side"],
            plain, target=TARGET_REDIS_SIDE,
            note="claims, messages and our own CPU; the inserts are what the embedded server makes slow"),
        row(f"{min(users, DEDUP_MAX_USERS):,} of them again, all deduplicated", rates["dedup"], plain),
        row("MongoDB round trips per batch (all new)", sum(new_trips.values()) / batches,
            note=_per_batch(new_trips, batches)),
    ]  # fmt: skip


def _queue_key(settings: Settings) -> str:
    import actors

    return f"{settings.redis_namespace}:{actors.process_user.queue_name}"


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
    from services.jobs.records import JobRecords

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
