"""The scheduler process: at every SYNC_CRON tick, enqueue each due user once. It never processes.

    python -m cron.scheduler                 # the Procfile's ``scheduler:`` process
    python -m cron.scheduler --once          # one tick, then exit (0, or 1 when the tick failed)
    python -m cron.scheduler --dry-run       # print the due users of one tick; enqueue nothing

Any number of replicas may run: only the holder of the leader lease (cron.leader) ticks, and
per-user dedup underneath means an occasional double tick still enqueues nobody twice. Each tick
reads the due users in batches (services.schedule.due_users) and hands every batch to
``JobProducer.enqueue_users``; it logs one line: due, enqueued, deduplicated, seconds.

A missed tick (the process was down or busy) still runs if it is at most one tick period late (at
most 5 minutes), and several missed ticks run once (``coalesce``). Every duration here (the lease,
the misfire grace, the due users' lead) follows the tick period and the interval
(services.schedule.timing), so a simulation that compresses time keeps them meaningful. SIGTERM and
Ctrl-C stop the scheduler between two batches, and the lease is released so that a follower takes
over at once.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

import redis
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cron.leader import LeaderLease
from models import utcnow
from services.jobs.producer import JobProducer
from services.platform.errors import SettingsError
from services.platform.redis_pool import get_redis, key
from services.platform.required_settings import settings_for_process_or_exit
from services.platform.settings import Settings, configure
from services.schedule.due_users import due_user_batches, still_due
from services.schedule.state import record_tick
from services.schedule.timing import lease_seconds, misfire_grace_seconds

logger = logging.getLogger("cron.scheduler")  # not "__main__" under python -m

#: Exit code of a malformed setting or argument.
EXIT_USAGE = 2


@dataclass
class TickResult:
    due: int = 0
    enqueued: int = 0
    deduplicated: int = 0
    seconds: float = 0.0
    #: How many users each batch handed to enqueue_users (each at most the batch size).
    batches: list[int] = field(default_factory=list)
    #: False when the tick stopped early (shutdown, or the lease was lost).
    complete: bool = True


class SyncScheduler:
    """The schedule's two jobs: keep (or campaign for) the lease, and tick when leader."""

    def __init__(
        self,
        settings: Settings,
        producer: JobProducer,
        client: redis.Redis,
        *,
        lease: LeaderLease | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.redis = client
        self.lease = lease or LeaderLease(
            client, key(settings, "scheduler", "leader"), lease_seconds(settings)
        )
        self.stop = stop or threading.Event()
        self.clock = clock
        self._ticking = threading.Lock()

    # -- the jobs -------------------------------------------------------------------------------------
    def campaign(self) -> bool:
        """Renew the lease if held, else try to take it: True when this process is the leader."""
        return self.lease.acquire_or_renew()

    def tick(self) -> TickResult | None:
        """One scheduled tick: enqueue the due users if this process leads; None when it does not.

        Raises when Redis cannot be reached (a tick that could not run is a failure, not a follower).
        """
        if not self.lease.acquire_or_renew(raise_errors=True):
            logger.info("Skipped the tick: another scheduler is the leader (%s).", self.lease.holder())
            return None
        return self.run_tick()

    def run_tick(self) -> TickResult:
        """Enqueue every due user, batch by batch, stopping early on shutdown or a lost lease."""
        with self._ticking:
            result = TickResult()
            started = time.monotonic()
            size = self.settings.scheduler_batch_size
            read_at = self.clock()
            for batch in due_user_batches(self.settings, self.redis, batch_size=size, now=read_at):
                if self.stop.is_set() or not self.lease.acquire_or_renew():
                    result.complete = False
                    break
                enqueued = self.producer.enqueue_users(
                    batch,
                    "schedule",
                    batch_size=size,
                    known=True,
                    # Asked once claimed: a user whose job ended since this tick read it is not due.
                    still_due=lambda ids: still_due(self.settings, ids, read_at),
                )
                new = sum(1 for e in enqueued if not e.deduplicated)
                result.batches.append(len(batch))
                result.due += len(batch)
                result.enqueued += new
                result.deduplicated += len(enqueued) - new
            result.seconds = time.monotonic() - started
        self._record(result)
        log = logger.info if result.complete else logger.warning
        log(
            "Tick: %d due, %d enqueued, %d deduplicated in %.2f s (%d batches of at most %d)%s.",
            result.due,
            result.enqueued,
            result.deduplicated,
            result.seconds,
            len(result.batches),
            size,
            "" if result.complete else "; stopped early (shutdown or lost lease)",
        )
        return result

    def _record(self, result: TickResult) -> None:
        """Leave the tick's figures in Redis for ``sellersync doctor`` (a failure to do so is only logged)."""
        figures = dict(due=result.due, enqueued=result.enqueued, complete=result.complete)
        try:
            record_tick(self.settings, self.redis, self.clock(), seconds=round(result.seconds, 3), **figures)
        except redis.RedisError as exc:
            logger.warning("Could not record the tick: %s.", exc)

    def dry_run(self, out: IO[str]) -> TickResult:
        """Print the users a tick would enqueue now, one id a line; enqueue nothing, take no lease."""
        result = TickResult()
        started = time.monotonic()
        size = self.settings.scheduler_batch_size
        for batch in due_user_batches(self.settings, self.redis, batch_size=size, now=self.clock()):
            result.batches.append(len(batch))
            result.due += len(batch)
            out.write("".join(f"{user_id}\n" for user_id in batch))
        result.seconds = time.monotonic() - started
        out.write(f"Dry run: {result.due} users due, in {len(result.batches)} batches; nothing enqueued.\n")
        return result

    # -- wiring ---------------------------------------------------------------------------------------
    def add_jobs(self, scheduler: BaseScheduler, trigger: BaseTrigger) -> None:
        """The schedule list: the lease job (at once, then every poll of the lease) and the tick."""
        scheduler.add_job(
            self.campaign,
            IntervalTrigger(seconds=self.lease.poll_seconds),
            id="lease",
            name="scheduler lease",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            self.tick,
            trigger,
            id="sync",
            name="enqueue due users",
            coalesce=True,
            misfire_grace_time=misfire_grace_seconds(self.settings),
            max_instances=1,
        )

    def close(self, timeout: float | None = None) -> None:
        """Stop: let a tick in flight finish its batch, then release the lease."""
        self.stop.set()
        wait = self.lease.lease_seconds if timeout is None else timeout
        finished = self._ticking.acquire(timeout=wait)
        try:
            self.lease.release()
        finally:
            if finished:
                self._ticking.release()


def build_trigger(settings: Settings, every_seconds: float | None = None) -> BaseTrigger:
    """SYNC_CRON (UTC), or a fixed interval for demos and tests."""
    every_seconds = every_seconds or settings.scheduler_every_seconds
    if every_seconds:
        return IntervalTrigger(seconds=every_seconds)
    return CronTrigger.from_crontab(settings.sync_cron, timezone=UTC)


def build(settings: Settings, stop: threading.Event | None = None) -> SyncScheduler:
    """A SyncScheduler on the Dramatiq queue (importing ``actors`` builds the broker; nothing processes)."""
    import actors

    return SyncScheduler(settings, actors.producer(settings), get_redis(settings), stop=stop)


def run_forever(sync: SyncScheduler, trigger: BaseTrigger) -> int:
    scheduler = BlockingScheduler(timezone=UTC)
    sync.add_jobs(scheduler, trigger)

    def shut_down(signum: int, frame: object) -> None:
        logger.info("Received %s: stopping the scheduler.", signal.Signals(signum).name)
        sync.stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    logger.info("Scheduler started (%s, lease %g s).", trigger, sync.lease.lease_seconds)
    try:
        scheduler.start()
    finally:
        sync.close()
    logger.info("Scheduler stopped.")
    return 0


def run_once(sync: SyncScheduler) -> int:
    try:
        result = sync.tick()
    except Exception:
        logger.exception("The tick failed.")
        return 1
    finally:
        sync.close()
    return 0 if result is None or result.complete else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cron.scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run one tick (if leader) and exit")
    parser.add_argument("--dry-run", action="store_true", help="print the due users; enqueue nothing")
    parser.add_argument(
        "--every", type=_positive, metavar="SECONDS", help="tick at this interval instead of SYNC_CRON"
    )
    parser.add_argument("--lease-seconds", type=_positive, help="override SCHEDULER_LEASE_SECONDS")
    parser.add_argument("--batch-size", type=int, help="override SCHEDULER_BATCH_SIZE")
    return parser.parse_args(argv)


def _positive(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def configure_logging(settings: Settings) -> None:
    from services.platform.logs import configure_logging as configure_root

    configure_root(settings.log_format, settings.log_level)
    # APScheduler logs every run of every job at INFO; the lease job runs several times a minute.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        changes: dict[str, object] = {}
        if args.lease_seconds:
            changes["scheduler_lease_seconds"] = args.lease_seconds
        if args.batch_size is not None:
            if args.batch_size < 1:
                raise SettingsError("--batch-size: must be at least 1")
            changes["scheduler_batch_size"] = args.batch_size
        settings = configure(settings_for_process_or_exit("scheduler", EXIT_USAGE), **changes)
        trigger = build_trigger(settings, args.every)
    except SettingsError as exc:
        print(f"sellersync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings)
    sync = build(settings)
    if args.dry_run:
        sync.dry_run(sys.stdout)
        return 0
    if args.once:
        return run_once(sync)
    return run_forever(sync, trigger)


if __name__ == "__main__":
    sys.exit(main())
