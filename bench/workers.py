"""Worker processes for the benchmarks, ours (the Procfile's ``worker`` line) or the bare baseline
(``bench.bare``), under ``embedded.processes.Supervisor``, their output in ``bench/logs/``; and how
each side is sent its jobs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

import dramatiq
import redis
from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker

from bench.common import ROOT, Stack, process_env, process_tree, wait_for

LOGS = ROOT / "bench" / "logs"
#: The baseline's queue (under its own namespace, ``<REDIS_NAMESPACE>-bare``).
BARE_QUEUE = "bare"


def ready_key(namespace: str) -> str:
    """A counter each baseline worker process increments once it has booted (the benchmark waits on it)."""
    return f"{namespace}-bare:ready"


class _Ready(Middleware):
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def after_worker_boot(self, broker, worker) -> None:
        broker.client.incr(ready_key(self.namespace))


def build_bare_broker(redis_url: str, namespace: str) -> RedisBroker:
    """Stock Dramatiq: a RedisBroker with its default middleware (plus the one-off boot signal)."""
    broker = RedisBroker(client=redis.Redis.from_url(redis_url), namespace=f"{namespace}-bare")
    broker.add_middleware(_Ready(namespace))
    return broker


class Workers:
    """``kind`` "ours" (``dramatiq actors``) or "bare" (``dramatiq bench.bare``), P processes × T threads."""

    def __init__(self, stack: Stack, kind: str, processes: int, threads: int) -> None:
        from embedded.processes import Supervisor
        from embedded.procfile import read_procfile

        self.stack, self.kind, self.processes, self.threads = stack, kind, processes, threads
        LOGS.mkdir(exist_ok=True)
        self.log_path = LOGS / f"{kind}-{processes}x{threads}.log"
        self._log = self.log_path.open("w")
        env = process_env(stack, WORKER_PROCESSES=str(processes), WORKER_CONCURRENCY=str(threads))
        self.supervisor = Supervisor(env, out=self._log)
        if kind == "ours":
            command = read_procfile()["worker"]
        else:
            command = f"python -m dramatiq bench.bare --processes {processes} --threads {threads}"
        self.supervised = self.supervisor.start("worker", command)
        try:
            wait_for(
                self._ready, timeout=120, interval=0.1, what=f"{kind} workers to boot (see {self.log_path})"
            )
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        from services.platform.redis_pool import get_redis
        from services.platform.settings import get_settings

        if not self.supervised.alive():
            raise RuntimeError(f"the {self.kind} worker exited; see {self.log_path}")
        client = get_redis(get_settings())
        if self.kind == "ours":
            from services.jobs.presence import Presence

            return Presence(get_settings(), client).count() >= self.processes
        return int(client.get(ready_key(self.stack.env["REDIS_NAMESPACE"])) or 0) >= self.processes

    def pids(self) -> list[int]:
        """The supervised process and the worker processes it forked."""
        return process_tree(self.supervised.pid) if self.supervised.pid else []

    def worker_pids(self) -> list[int]:
        """The processes that run jobs (the dramatiq CLI's children, not its master)."""
        tree = self.pids()
        return tree[1:] if len(tree) > 1 else tree

    def stop(self) -> None:
        self.supervisor.stop(timeout=20)
        self._log.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sender(stack: Stack, kind: str) -> Callable[[list[str]], object]:
    """How a job per user is sent: ``enqueue_users`` (ours), or a plain ``send()`` loop (the baseline)."""
    import actors
    from services.platform.settings import get_settings

    if kind == "ours":
        producer = actors.producer(get_settings())
        return lambda user_ids: producer.enqueue_users(user_ids, "manual")
    bare = _bare_actor(stack.redis_url, stack.env["REDIS_NAMESPACE"])
    return lambda user_ids: [bare.send(user_id) for user_id in user_ids]


@functools.cache
def _bare_actor(redis_url: str, namespace: str) -> dramatiq.Actor:
    """The baseline's actor as its producer declares it: only its name and queue travel."""
    broker = build_bare_broker(redis_url, namespace)
    return dramatiq.actor(lambda user_id: None, actor_name="bare_sync", queue_name=BARE_QUEUE, broker=broker)


def wait_synced(
    user_ids: list[str], since: datetime, what: str, timeout: float, interval: float = 0.05
) -> None:
    """Wait until every user of ``user_ids`` has a ``last_synced_at`` at or after ``since``."""
    from models import User

    users, query = User._get_collection(), {"user_id": {"$in": user_ids}, "last_synced_at": {"$gte": since}}
    wait_for(lambda: users.count_documents(query) >= len(user_ids), timeout, interval, what)
