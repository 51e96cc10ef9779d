"""Benchmark: a scheduler-sized enqueue through ``enqueue_users`` against two plain loops.

    python -m bench.enqueue [--users 100000] [--batch-size 1000] [--rounds 3]

In one process, on the same loopback servers, rounds alternate: a plain ``send()`` loop (no records:
the baseline of our Redis side, ours less the time spent waiting for the document server, ≥ 10); the
seed's producer loop (per user, one insert of its queued record and one ``send()``: the same-work
baseline, ≥ 1); ``enqueue_users`` for every user new (claims, records, messages); then again over the
same users, every one deduplicated (a double tick). MongoDB round trips per batch are counted too.
"""

from __future__ import annotations

import statistics
import sys
import time
import timeit
from collections import Counter

from bench.common import arguments, start_stack
from bench.figures import Figure, finish
from services.platform.settings import Settings, get_settings

DEFAULTS = dict(users=10_000, batch_size=0, rounds=2)  # batch_size 0: SCHEDULER_BATCH_SIZE
SIZES = {"smoke": dict(users=500, rounds=1), "full": dict(users=100_000, rounds=3)}
#: The deduplicated pass runs over at most this many users: the embedded document server answers the
#: ``job_id $in [...]`` lookup of each batch with a collection scan, so it grows with the records.
DEDUP_MAX_USERS = 5_000
#: The seed's producer loop (a round trip per record: the slowest side) runs over at most this many
#: users and is compared by rate.
SEED_LOOP_MAX_USERS = 5_000
#: The key of the round-trip counter that sums the microseconds spent waiting for the document server.
MONGO_MICROSECONDS = "mongo_us"


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.enqueue", __doc__, DEFAULTS, SIZES)
    with start_stack(time_scale=None):
        settings = get_settings()
        bench = Enqueue(settings, args.users, args.batch_size or settings.scheduler_batch_size)
        print(f"Redis {settings.redis_url} (PING round trip {bench.rtt_us():.0f} us), {args.users:,} users, ")
        print(f"batches of {bench.batch_size} ({bench.batches}), {args.rounds} rounds, alternating.")
        for _ in range(args.rounds):
            bench.plain_loop()
            bench.seed_loop()
            bench.ours()
    return finish(*report(bench), args.json)


class Enqueue:
    """The sides of the benchmark over the same users and servers; ``seconds`` of each per round
    (``new_mongo``: the part of ``new`` spent waiting for the document server)."""

    def __init__(self, settings: Settings, users: int, batch_size: int) -> None:
        import actors
        from services.platform.redis_pool import get_redis

        self.settings, self.batch_size = settings, batch_size
        self.client = get_redis(settings)
        self.user_ids = [f"bench-{n:06d}" for n in range(users)]
        self.batches = -(-users // batch_size)
        self.queue_key = f"{settings.redis_namespace}:{actors.process_user.queue_name}"
        self.trips: Counter[str] = Counter()
        self.producer = counting_producer(settings, self.client, self.trips)
        self.producer.queue = actors.queue.DramatiqJobQueue(actors.process_user)
        self.seconds: dict[str, list[float]] = {s: [] for s in ("plain", "seed", "new", "new_mongo", "dedup")}
        self.new_trips: dict[str, int] = {}
        self.dedup_trips: dict[str, int] = {}

    def plain_loop(self) -> None:
        """The bare baseline: one ``send()`` per user, no dedup, no records."""
        import actors

        self._reset()
        started = time.perf_counter()
        for user_id in self.user_ids:
            actors.process_user.send(user_id)
        self.seconds["plain"].append(time.perf_counter() - started)
        assert self.client.llen(self.queue_key) == len(self.user_ids)

    def seed_loop(self) -> None:
        """The seed's producer: for each user, insert its queued job record, then send its message."""
        from models import JobStatus

        user_ids, records, queue = (
            self.user_ids[:SEED_LOOP_MAX_USERS],
            JobStatus._get_collection(),
            self.producer.queue,
        )
        self._reset()
        started = time.perf_counter()
        for user_id in user_ids:
            job_id = queue.new_job_id()
            records.insert_one(self.producer.records.queued_documents([(job_id, user_id, "schedule")])[0])
            queue.send(job_id, user_id, "schedule")
        self.seconds["seed"].append(time.perf_counter() - started)
        assert self.client.llen(self.queue_key) == len(user_ids) == records.count_documents({})

    def ours(self) -> None:
        """``enqueue_users`` for every user new, then again over some of them (all deduplicated)."""
        self._reset()
        results, self.new_trips = self._timed("new", self.user_ids)
        assert sum(not r.deduplicated for r in results) == len(self.user_ids)
        assert self.client.llen(self.queue_key) == len(self.user_ids)
        again, self.dedup_trips = self._timed("dedup", self.user_ids[:DEDUP_MAX_USERS])
        assert all(r.deduplicated for r in again) and self.client.llen(self.queue_key) == len(self.user_ids)

    def _timed(self, side: str, user_ids: list[str]) -> tuple[list, dict[str, int]]:
        self.trips.clear()
        started = time.perf_counter()
        results = self.producer.enqueue_users(user_ids, "schedule", batch_size=self.batch_size, known=True)
        self.seconds[side].append(time.perf_counter() - started)
        mongo = self.trips.pop(MONGO_MICROSECONDS, 0) / 1e6
        if side == "new":
            self.seconds["new_mongo"].append(mongo)
        return results, dict(self.trips)

    def _reset(self) -> None:
        """An empty namespace and no job records."""
        from models import JobStatus

        names = list(self.client.scan_iter(match=f"{self.settings.redis_namespace}:*", count=10_000))
        for start in range(0, len(names), 10_000):
            self.client.delete(*names[start : start + 10_000])
        JobStatus._get_collection().delete_many({})

    def rates(self) -> dict[str, float]:
        """Users per second of each side, from the median round (the Redis side: less its MongoDB wait)."""
        users, median = len(self.user_ids), lambda side: statistics.median(self.seconds[side])
        new, mongo = self.seconds["new"], self.seconds["new_mongo"]
        return {
            "plain": users / median("plain"),
            "seed": min(users, SEED_LOOP_MAX_USERS) / median("seed"),
            "new": users / median("new"),
            "redis_side": users / statistics.median(n - m for n, m in zip(new, mongo, strict=True)),
            "dedup": min(users, DEDUP_MAX_USERS) / median("dedup"),
        }

    def rtt_us(self) -> float:
        """The median PING round trip of 200, in microseconds."""
        return statistics.median(timeit.repeat(self.client.ping, number=1, repeat=200)) * 1e6


def report(bench: Enqueue) -> tuple[list[Figure], dict]:
    """Print the rates and round trips; the figures and details."""
    rates, batches = bench.rates(), bench.batches
    waited = statistics.median(bench.seconds["new_mongo"])
    print(f"enqueue_users, all new, waiting for the document server: {waited:.2f} s")
    for name, key in (("plain actor.send() loop", "plain"), ("seed producer loop (insert + send)", "seed"),
                      ("enqueue_users, all new", "new"), ("  its Redis side (less MongoDB)", "redis_side"),
                      ("enqueue_users, deduplicated", "dedup")):  # fmt: skip
        print(f"{name + ':':<36}{rates[key]:>9,.0f} users/s")
    print("Redis round trips per batch: 1 claim script (SET NX PX per user, in Lua) and 1 enqueue script")
    print("(HSET + RPUSH per message, in Lua); the plain loops make 1 per user (the seed's also 1 insert).")
    print(f"MongoDB round trips, all new: {_per_batch(bench.new_trips, batches)}")
    print(f"MongoDB round trips, dedup:   {_per_batch(bench.dedup_trips, batches)}")
    details = {"newTrips": bench.new_trips, "dedupTrips": bench.dedup_trips, "batches": batches,
               "batchSize": bench.batch_size, "usersPerSecond": rates}  # fmt: skip
    return figures(bench, rates), details


def figures(bench: Enqueue, rates: dict[str, float]) -> list[Figure]:
    users, batches, plain = len(bench.user_ids), bench.batches, rates["plain"]
    seed_users, dedup_users = min(users, SEED_LOOP_MAX_USERS), min(users, DEDUP_MAX_USERS)
    pairs = zip(bench.seconds["new"], bench.seconds["seed"], strict=True)
    per_round = ", ".join(f"{(users / new) / (seed_users / seed):.1f}x" for new, seed in pairs)
    same_work = f"same work (a record and a message per user); per round: {per_round}"

    def row(name: str, ours: float, baseline: float | None = None, **extra: str) -> Figure:
        return Figure("enqueue", name, ours, "users/s" if baseline else "", baseline, **extra).check()

    return [
        row(f"{users:,} due users, enqueue_users vs the seed's insert + send() loop", rates["new"],
            rates["seed"], target="≥ 1", note=same_work),
        row("  the same, vs a bare send() loop (no records)", rates["new"], plain,
            note="unlike work: the loop writes no job records"),
        row("  its Redis side (less the document server's time) vs a bare send() loop", rates["redis_side"],
            plain, target="≥ 10",
            note="claims, messages and our own CPU; the inserts are what the embedded server makes slow"),
        row(f"{dedup_users:,} of them again, all deduplicated", rates["dedup"], plain),
        row("MongoDB round trips per batch (all new)", sum(bench.new_trips.values()) / batches,
            note=_per_batch(bench.new_trips, batches)),
    ]  # fmt: skip


def counting_producer(settings: Settings, client, trips: Counter):
    """The real producer, with each MongoDB round trip counted, and the microseconds spent waiting for
    the document server summed in ``trips[MONGO_MICROSECONDS]``."""
    from models import JobStatus
    from services.jobs.producer import JobProducer
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
            if documents:
                timed(lambda: JobStatus._get_collection().insert_many(documents, ordered=False))
            return len(documents)

    class CountingProducer(JobProducer):
        def _finished_jobs(self, job_ids: list[str]) -> set[str]:
            if not job_ids:
                return set()
            trips["find job_statuses (finished jobs among held keys)"] += 1
            return timed(lambda: super(CountingProducer, self)._finished_jobs(job_ids))

        def _known_users(self, user_ids: list[str]) -> list[str]:
            trips["find users"] += 1
            return super()._known_users(user_ids)

    return CountingProducer(None, settings=settings, client=client, records=CountingRecords(settings))


def _per_batch(trips: dict[str, int], batches: int) -> str:
    if not trips:
        return "none"
    return "; ".join(f"{name}: {count} ({count / batches:g} per batch)" for name, count in trips.items())


if __name__ == "__main__":
    sys.exit(main())
