"""Framework cost per job: Redis and MongoDB commands of our job vs a bare Dramatiq actor's.

    python -m bench.cost [--jobs 40] [--threads 4]

Both kinds run in this process on real Dramatiq workers (``dramatiq.Worker``, 4 threads), against the
same redis-server, document server and sandbox, one fresh user (one account, 20 orders, 2 SKUs) per
job:

- ours: ``enqueue_users`` then the ``process_user`` actor with all of our middleware;
- the baseline: ``bench.bare``'s actor (stock Dramatiq, the same SP-API calls and data writes),
  sent with a plain ``send()`` loop.

Redis commands are the deltas of ``INFO commandstats`` over the run (the server serves nothing else),
so the consumers' polling and heartbeats are in them; MongoDB commands are counted by pymongo command
monitoring in the producer and the worker threads (the benchmark's own polling is left out). Both are
given per job and by command, so that each extra command of ours can be named.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from pymongo import monitoring

from bench.common import Stack, arguments, seed_users, start_stack, wait_for
from bench.figures import Figure, finish
from bench.workers import synced_since

DEFAULTS = dict(jobs=40, threads=4)
SIZES = {"smoke": dict(jobs=3), "full": dict(jobs=200)}
PROFILE = {"orders": 20, "skus": 2, "days": 30}


class MongoCounter(monitoring.CommandListener):
    """Counts commands as ``"<command> <collection>"``, from counted threads only."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.enabled = False
        self.main_thread_counts = False
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self.enabled:
            return
        if threading.current_thread() is threading.main_thread() and not self.main_thread_counts:
            return
        target = event.command.get(event.command_name)
        name = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
        with self._lock:
            self.counts[name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def redis_commandstats(client) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()})


def run(jobs: int = 40, threads: int = 4) -> tuple[list[Figure], dict]:
    listener = MongoCounter()
    monitoring.register(listener)  # before any client exists: the stack connects next
    with start_stack(time_scale=1000.0) as stack:
        results = {}
        for kind in ("ours", "bare"):
            results[kind] = measure(stack, kind, jobs, threads, listener)
    ours, bare = results["ours"], results["bare"]
    figures = []
    for store in ("redis", "mongo"):
        per_ours, per_bare = ours[f"{store}_per_job"], bare[f"{store}_per_job"]
        label = "Redis" if store == "redis" else "MongoDB"
        note = "extra per job: " + extra(ours[f"{store}_by_command"], bare[f"{store}_by_command"], jobs)
        figures.append(Figure("cost", f"{label} commands per job", per_ours, baseline=per_bare, note=note))
    return figures, {"cost": {"jobs": jobs, "ours": ours, "bare": bare}}


def measure(stack: Stack, kind: str, jobs: int, threads: int, listener: MongoCounter) -> dict:
    """Run ``jobs`` jobs of ``kind`` on a worker in this process; the commands they made, per job."""
    import dramatiq

    from services.platform.redis_pool import get_redis
    from services.platform.settings import get_settings

    user_ids = [f"cost-{kind}-{n:04d}" for n in range(jobs)]
    seed_users(stack, user_ids, profile=lambda rng: dict(PROFILE))
    worker = dramatiq.Worker(_broker_of(kind), worker_threads=threads, worker_timeout=100)
    client = get_redis(get_settings())
    before = redis_commandstats(client)
    listener.counts.clear()
    listener.enabled = True
    started = time.monotonic()
    worker.start()
    try:
        _run_jobs(stack, kind, user_ids, listener)
        worker.join()
    finally:
        listener.enabled = False
        worker.stop()
    seconds = time.monotonic() - started
    redis_counts = redis_commandstats(client) - before
    redis_counts.pop("info", None)
    mongo_counts = Counter(listener.counts)
    return {
        "seconds": seconds,
        "redis_per_job": sum(redis_counts.values()) / jobs,
        "mongo_per_job": sum(mongo_counts.values()) / jobs,
        "redis_by_command": dict(redis_counts.most_common()),
        "mongo_by_command": dict(mongo_counts.most_common()),
    }


def _broker_of(kind: str):
    import dramatiq

    import actors

    if kind == "ours":
        return actors.broker
    import bench.bare  # the baseline worker module: its broker, with the actor declared

    dramatiq.set_broker(actors.broker)  # importing it made its broker the global one
    return bench.bare.broker


def _run_jobs(stack: Stack, kind: str, user_ids: list[str], listener: MongoCounter) -> None:
    """Send a job per user (the producer's commands count as the job's) and wait until all are done."""
    import actors
    from bench.workers import send_bare
    from services.platform.settings import get_settings

    count = synced_since(user_ids, datetime.now(UTC))
    listener.main_thread_counts = True
    if kind == "ours":
        actors.producer(get_settings()).enqueue_users(user_ids, "manual")
    else:
        send_bare(stack, user_ids)
    listener.main_thread_counts = False
    wait_for(lambda: count() >= len(user_ids), timeout=300, interval=0.05, what=f"{kind} cost jobs")
    if kind == "ours":
        _wait_for_records(user_ids)


def _wait_for_records(user_ids: list[str]) -> None:
    from models import JobStatus

    collection = JobStatus._get_collection()
    wait_for(
        lambda: (
            collection.count_documents({"user_id": {"$in": user_ids}, "status": "completed"}) >= len(user_ids)
        ),
        timeout=120,
        what="job records to complete",
    )


def extra(ours: dict[str, int], bare: dict[str, int], jobs: int) -> str:
    """Commands ours makes beyond the baseline's, per job, most first."""
    delta = {name: (count - bare.get(name, 0)) / jobs for name, count in ours.items()}
    shown = [
        f"{name} {value:+.2g}"
        for name, value in sorted(delta.items(), key=lambda kv: -kv[1])
        if value >= 0.05
    ]
    return ", ".join(shown) or "none"


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.cost", __doc__, DEFAULTS, SIZES)
    figures, details = run(args.jobs, args.threads)
    for kind in ("ours", "bare"):
        data = details["cost"][kind]
        print(f"{kind}: {data['seconds']:.1f} s")
        print(f"  Redis per job:   {_per_job(data['redis_by_command'], args.jobs)}")
        print(f"  MongoDB per job: {_per_job(data['mongo_by_command'], args.jobs)}")
    for figure in figures:
        print(f"{figure.name}: {figure.note}")
    return finish(figures, details, args.json)


def _per_job(counts: dict[str, int], jobs: int) -> str:
    return ", ".join(f"{name} {count / jobs:.2g}" for name, count in counts.items())


if __name__ == "__main__":
    sys.exit(main())
