"""Framework cost per job: Redis and MongoDB commands of our job vs a bare Dramatiq actor's.

    python -m bench.cost [--jobs 40] [--threads 4]

Both kinds run in this process on a real ``dramatiq.Worker``, on the same servers and sandbox, one
fresh user (one account, 20 orders, 2 SKUs) per job: ours (``enqueue_users``, then ``process_user``
with all our middleware), and ``bench.bare``'s actor (stock Dramatiq, the same SP-API calls and
writes) sent with a plain ``send()`` loop. Redis commands are the deltas of ``INFO commandstats``
(the consumers' polling and heartbeats included); MongoDB commands are counted by pymongo command
monitoring in the producer and the worker threads; both per job and by command.
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
from bench.workers import sender, wait_synced

DEFAULTS = dict(jobs=40, threads=4)
SIZES = {"smoke": dict(jobs=3), "full": dict(jobs=200)}


class MongoCounter(monitoring.CommandListener):
    """Counts commands as ``"<command> <collection>"``, the main thread's only if ``main_thread_counts``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.enabled = self.main_thread_counts = False
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


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.cost", __doc__, DEFAULTS, SIZES)
    listener = MongoCounter()
    monitoring.register(listener)  # before any client exists: the stack connects next
    with start_stack(time_scale=1000.0) as stack:
        results = {kind: measure(stack, kind, args.jobs, args.threads, listener) for kind in ("ours", "bare")}
    return finish(report(results, args.jobs), {"cost": {"jobs": args.jobs, **results}}, args.json)


def measure(stack: Stack, kind: str, jobs: int, threads: int, listener: MongoCounter) -> dict:
    """Run ``jobs`` jobs of ``kind`` on a worker in this process; the commands they made."""
    import dramatiq

    from services.platform.redis_pool import get_redis
    from services.platform.settings import get_settings

    user_ids = [f"cost-{kind}-{n:04d}" for n in range(jobs)]
    seed_users(stack, user_ids)
    worker = dramatiq.Worker(_broker_of(kind), worker_threads=threads, worker_timeout=100)
    client = get_redis(get_settings())
    before = _commandstats(client)
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
    redis_counts = _commandstats(client) - before
    redis_counts.pop("info", None)
    return {
        "seconds": seconds,
        "redis_by_command": dict(redis_counts.most_common()),
        "mongo_by_command": dict(listener.counts.most_common()),
    }


def _commandstats(client) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()})


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
    from models import JobStatus

    since = datetime.now(UTC)
    send = sender(stack, kind)
    listener.main_thread_counts = True
    send(user_ids)
    listener.main_thread_counts = False
    wait_synced(user_ids, since, f"{kind} cost jobs", timeout=300)
    if kind == "ours":
        records, done = JobStatus._get_collection(), {"user_id": {"$in": user_ids}, "status": "completed"}
        wait_for(lambda: records.count_documents(done) >= len(user_ids), timeout=120, what="the job records")


def report(results: dict[str, dict], jobs: int) -> list[Figure]:
    """Print each kind's commands per job; the figures: per job, and ours' extra commands by name."""
    figures = []
    for store, label in (("redis", "Redis"), ("mongo", "MongoDB")):
        ours, bare = (results[kind][f"{store}_by_command"] for kind in ("ours", "bare"))
        for kind, counts in (("ours", ours), ("bare", bare)):
            results[kind][f"{store}_per_job"] = sum(counts.values()) / jobs
            print(f"{kind} {label} per job ({results[kind]['seconds']:.1f} s): {_per_job(counts, jobs)}")
        note = "extra per job: " + extra(ours, bare, jobs)
        print(f"{label} commands per job: {note}")
        per_job = {kind: results[kind][f"{store}_per_job"] for kind in ("ours", "bare")}
        figures.append(
            Figure("cost", f"{label} commands per job", per_job["ours"], baseline=per_job["bare"], note=note)
        )
    return figures


def extra(ours: dict[str, int], bare: dict[str, int], jobs: int) -> str:
    """Commands ours makes beyond the baseline's, per job, most first."""
    delta = {name: (count - bare.get(name, 0)) / jobs for name, count in ours.items()}
    shown = [
        f"{name} {value:+.2g}"
        for name, value in sorted(delta.items(), key=lambda kv: -kv[1])
        if value >= 0.05
    ]
    return ", ".join(shown) or "none"


def _per_job(counts: dict[str, int], jobs: int) -> str:
    return ", ".join(f"{name} {count / jobs:.2g}" for name, count in counts.items())


if __name__ == "__main__":
    sys.exit(main())
