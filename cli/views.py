"""``status``, ``stats`` and ``failed``: read the job queue from a shell."""

from __future__ import annotations

import argparse
import time

from cli.arguments import job_id, positive_int, positive_seconds
from cli.context import Context
from cli.output import JOB_HEADERS, as_json, job_rows, print_jobs, table
from models import utcnow
from services.jobs.json_shape import job_json, user_status_json
from services.operations import onboarding
from services.platform.errors import InvalidInputError, UnknownJobError, UnknownUserError


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    status = commands.add_parser("status", parents=[common], help="one job, or a user's last sync and jobs")
    status.add_argument("job", nargs="?", type=job_id, metavar="JOB")
    status.add_argument("--user", metavar="USER")
    status.add_argument("--limit", type=positive_int, default=10, help="the user's newest N jobs (10)")
    status.set_defaults(run=status_cmd)

    stats = commands.add_parser("stats", parents=[common], help="queue counts, throughput and live workers")
    stats.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    stats.add_argument("--interval", type=positive_seconds, default=2.0, help="seconds between refreshes (2)")
    stats.add_argument("--count", type=positive_int, help="with --watch: stop after N refreshes")
    stats.set_defaults(run=stats_cmd)

    failed = commands.add_parser("failed", parents=[common], help="failed jobs, the latest failure first")
    failed.add_argument("--limit", type=positive_int, default=20, help="at most N jobs (20)")
    failed.set_defaults(run=failed_cmd)


def status_cmd(ctx: Context, args: argparse.Namespace) -> int:
    if (args.job is None) == (args.user is None):
        raise InvalidInputError("JOB", "name a job, or give --user USER (not both)")
    queries = ctx.queries()
    if args.job:
        job = queries.get_job(args.job)
        if job is None:
            raise UnknownJobError(f"no job with id {args.job!r}")
        if ctx.json:
            as_json(job_json(job), ctx.out)
        else:
            _print_job(ctx, job)
        return 0
    user = queries.get_user(onboarding.check_user_id(args.user, "--user"))
    if user is None:
        raise UnknownUserError(f"no user with id {args.user!r}")
    jobs = queries.jobs_for_user(user.user_id, args.limit)
    if ctx.json:
        as_json(user_status_json(user, jobs), ctx.out)
        return 0
    synced = user.last_synced_at.strftime("%Y-%m-%d %H:%M:%SZ") if user.last_synced_at else "never"
    ctx.out.write(
        f"User {user.user_id}: last synced {synced}; sync {'enabled' if user.sync_enabled else 'disabled'}.\n"
    )
    table(job_rows(jobs), JOB_HEADERS, ctx.out)
    return 0


def _print_job(ctx: Context, job) -> None:
    fields = [
        ("job", job.job_id),
        ("user", job.user_id),
        ("status", job.status),
        ("trigger", job.trigger),
        ("lane", f"{job.lane or 'standard'}" + (f" (promoted {job.promoted_at})" if job.promoted_at else "")),
        ("attempts", f"{job.attempts or 0} of {job.max_attempts}"),
        ("queued", job.queued_at),
        ("started", job.started_at),
        ("completed", job.completed_at),
        ("failed", job.failed_at),
        ("duration", f"{job.duration_ms / 1000:.1f} s" if job.duration_ms is not None else None),
        ("progress", f"{job.progress}% ({job.accounts_processed}/{job.accounts_total} accounts)"),
        ("worker", job.worker),
        ("error", f"{job.error.type}: {job.error.message}" if job.error else None),
    ]
    table(fields, ("FIELD", "VALUE"), ctx.out)
    if job.accounts:
        ctx.out.write("\n")
        table(
            (
                (
                    a.region,
                    a.country,
                    a.status,
                    a.orders_fetched,
                    a.duration_ms,
                    a.first_look_at,
                    a.analysed_at,
                    f"{a.error.type}: {a.error.message}" if a.error else None,
                )
                for a in job.accounts
            ),
            ("REGION", "COUNTRY", "STATUS", "ORDERS", "MS", "FIRST LOOK", "ANALYSED", "ERROR"),
            ctx.out,
        )


def stats_cmd(ctx: Context, args: argparse.Namespace) -> int:
    if not args.watch and args.count:
        raise InvalidInputError("--count", "goes with --watch")
    producer = ctx.producer()
    shown = 0
    while True:
        stats = producer.get_queue_stats()
        if ctx.json:
            # One object per line under --watch (JSON Lines), so a pipe can read each refresh.
            import json

            ctx.out.write(json.dumps(stats) + "\n" if args.watch else json.dumps(stats, indent=2) + "\n")
        else:
            _print_stats(ctx, stats, watch=args.watch)
        ctx.out.flush()
        shown += 1
        if not args.watch or (args.count and shown >= args.count):
            return 0
        time.sleep(args.interval)


def _print_stats(ctx: Context, stats: dict, *, watch: bool) -> None:
    counts, throughput = stats["counts"], stats["throughput"]
    if watch:
        ctx.out.write(
            f"{utcnow():%H:%M:%S} waiting {counts['waiting']}  active {counts['active']}  retrying "
            f"{counts['retrying']}  completed {counts['completed']}  failed {counts['failed']}  "
            f"{throughput['perMinute']}/min  oldest {stats['oldestWaitingSeconds']}s  "
            f"workers {stats['workers']}\n"
        )
        return
    table(((name, value) for name, value in counts.items()), (f"QUEUE {stats['queue']}", "JOBS"), ctx.out)
    ctx.out.write(
        f"\nLast hour: {throughput['completedLastHour']} completed, {throughput['failedLastHour']} failed "
        f"({throughput['perMinute']}/min). Oldest waiting: {stats['oldestWaitingSeconds']} s. "
        f"Worker processes alive: {stats['workers']}.\n"
    )


def failed_cmd(ctx: Context, args: argparse.Namespace) -> int:
    print_jobs(ctx, ctx.queries().failed(args.limit))
    return 0
