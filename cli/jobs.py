"""``enqueue``, ``status``, ``stats``, ``failed``, ``retry`` and ``cancel``: the job queue, from a shell."""

from __future__ import annotations

import argparse
import re
import time
from datetime import timedelta

from cli.context import Context
from cli.onboarding import positive_int
from cli.output import as_json, progress, table
from services import onboarding
from services.errors import InvalidInputError, UnknownJobError, UnknownUserError
from services.job_status import utcnow

#: Job ids are Dramatiq message ids: UUIDs.
_JOB_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DURATION_RE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(raw: str) -> timedelta:
    """``90s``, ``45m``, ``24h``, ``7d``."""
    match = _DURATION_RE.match(raw.strip())
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(f"expected a duration such as 45m, 24h or 7d, got {raw!r}")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def job_id(raw: str) -> str:
    if not _JOB_ID_RE.match(raw):
        raise argparse.ArgumentTypeError(f"a job id is a UUID, got {raw!r}")
    return raw.lower()


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    enqueue = commands.add_parser("enqueue", parents=[common], help="enqueue users' syncs now")
    enqueue.add_argument("users", nargs="*", metavar="USER")
    enqueue.add_argument("--all-due", action="store_true", help="every user the scheduler would enqueue now")
    enqueue.add_argument("--dry-run", action="store_true", help="with --all-due: list the due users only")
    enqueue.set_defaults(run=enqueue_cmd)

    status = commands.add_parser("status", parents=[common], help="one job, or a user's last sync and jobs")
    status.add_argument("job", nargs="?", type=job_id, metavar="JOB")
    status.add_argument("--user", metavar="USER")
    status.add_argument("--limit", type=positive_int, default=10, help="the user's newest N jobs (10)")
    status.set_defaults(run=status_cmd)

    stats = commands.add_parser("stats", parents=[common], help="queue counts, throughput and live workers")
    stats.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    stats.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (2)")
    stats.add_argument("--count", type=positive_int, help="with --watch: stop after N refreshes")
    stats.set_defaults(run=stats_cmd)

    failed = commands.add_parser("failed", parents=[common], help="failed jobs, the latest failure first")
    failed.add_argument("--limit", type=positive_int, default=20, help="at most N jobs (20)")
    failed.set_defaults(run=failed_cmd)

    retry = commands.add_parser("retry", parents=[common], help="enqueue a failed or cancelled job again")
    retry.add_argument("job", nargs="?", type=job_id, metavar="JOB")
    retry.add_argument("--all-failed", action="store_true", help="every user whose latest job failed")
    retry.add_argument("--since", type=duration, default=timedelta(hours=24), help="with --all-failed (24h)")
    retry.set_defaults(run=retry_cmd)

    cancel = commands.add_parser("cancel", parents=[common], help="cancel a queued or running job")
    cancel.add_argument("job", type=job_id, metavar="JOB")
    cancel.set_defaults(run=cancel_cmd)


def _job_rows(jobs) -> list[tuple]:
    return [
        (
            j.job_id,
            j.user_id,
            j.status,
            j.trigger,
            f"{j.attempts or 0}/{j.max_attempts}",
            j.queued_at,
            f"{j.duration_ms / 1000:.1f}s" if j.duration_ms is not None else None,
            f"{j.accounts_processed}/{j.accounts_total}",
            f"{j.error.type}: {j.error.message}" if j.error else None,
        )
        for j in jobs
    ]


JOB_HEADERS = ("JOB", "USER", "STATUS", "TRIGGER", "ATTEMPTS", "QUEUED", "DURATION", "ACCOUNTS", "ERROR")


def _print_jobs(ctx: Context, jobs) -> None:
    from web.serializers import job_json

    if ctx.json:
        as_json({"jobs": [job_json(j) for j in jobs]}, ctx.out)
    else:
        table(_job_rows(jobs), JOB_HEADERS, ctx.out)


def _print_enqueued(ctx: Context, results) -> None:
    if ctx.json:
        as_json(
            {
                "jobs": [
                    {"userId": r.user_id, "jobId": r.job_id, "deduplicated": r.deduplicated} for r in results
                ]
            },
            ctx.out,
        )
    else:
        table(
            (
                (r.user_id, r.job_id, "already queued or running" if r.deduplicated else "enqueued")
                for r in results
            ),
            ("USER", "JOB", "RESULT"),
            ctx.out,
        )


# -- enqueue -----------------------------------------------------------------------------------------
def enqueue_cmd(ctx: Context, args: argparse.Namespace) -> int:
    if bool(args.users) == args.all_due:
        raise InvalidInputError("USER", "name users, or give --all-due (not both)")
    if args.dry_run and not args.all_due:
        raise InvalidInputError("--dry-run", "goes with --all-due")
    if args.all_due:
        return _enqueue_due(ctx, dry_run=args.dry_run)
    user_ids = list(dict.fromkeys(onboarding.check_user_id(u, "USER") for u in args.users))
    queries = ctx.queries()
    missing = queries.missing_users(user_ids)
    if missing:
        raise UnknownUserError(f"no user with id {', '.join(map(repr, missing[:10]))}; nothing enqueued")
    producer = ctx.producer()
    _print_enqueued(ctx, [producer.enqueue_user(u, "manual") for u in user_ids])
    return 0


def _enqueue_due(ctx: Context, *, dry_run: bool) -> int:
    from services.due_users import due_user_batches

    ctx.store()
    producer = None if dry_run else ctx.producer()
    results, due = [], []
    for batch in due_user_batches(ctx.settings, ctx.redis()):
        if dry_run:
            due.extend(batch)
        else:
            results.extend(producer.enqueue_users(batch, "manual", known=True))
        progress(f"{len(due) + len(results):,} due users {'found' if dry_run else 'enqueued'}…", ctx.err)
    if dry_run:
        if ctx.json:
            as_json({"due": due}, ctx.out)
        else:
            ctx.out.write("".join(f"{u}\n" for u in due))
            ctx.out.write(f"Dry run: {len(due)} users due; nothing enqueued.\n")
        return 0
    _print_enqueued(ctx, results)
    return 0


# -- status, stats, failed ---------------------------------------------------------------------------
def status_cmd(ctx: Context, args: argparse.Namespace) -> int:
    from web.serializers import job_json, user_status_json

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
    table(_job_rows(jobs), JOB_HEADERS, ctx.out)
    return 0


def _print_job(ctx: Context, job) -> None:
    fields = [
        ("job", job.job_id),
        ("user", job.user_id),
        ("status", job.status),
        ("trigger", job.trigger),
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
                    f"{a.error.type}: {a.error.message}" if a.error else None,
                )
                for a in job.accounts
            ),
            ("REGION", "COUNTRY", "STATUS", "ORDERS", "MS", "ERROR"),
            ctx.out,
        )


def stats_cmd(ctx: Context, args: argparse.Namespace) -> int:
    if not args.watch and args.count:
        raise InvalidInputError("--count", "goes with --watch")
    if args.interval <= 0:
        raise InvalidInputError("--interval", "must be a positive number of seconds")
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
    _print_jobs(ctx, ctx.queries().failed(args.limit))
    return 0


# -- retry, cancel ----------------------------------------------------------------------------------
def retry_cmd(ctx: Context, args: argparse.Namespace) -> int:
    if (args.job is None) == (not args.all_failed):
        raise InvalidInputError("JOB", "name a job, or give --all-failed (not both)")
    producer = ctx.producer()
    if args.job:
        _print_enqueued(ctx, [producer.retry_job(args.job)])
        return 0
    targets = latest_failed_jobs(utcnow() - args.since)
    results = []
    for index, failed_id in enumerate(targets, 1):
        results.append(producer.retry_job(failed_id))
        if index % 100 == 0 or index == len(targets):
            progress(f"{index:,} of {len(targets):,} failed jobs retried…", ctx.err)
    if not targets:
        progress(f"No user's latest job failed in the last {args.since}.", ctx.err)
    _print_enqueued(ctx, results)
    return 0


def latest_failed_jobs(since) -> list[str]:
    """Per user, the job to retry: the latest job, when it failed at or after ``since``.

    A user whose failed job was followed by another job (a retry, or the next scheduled sync) is left
    alone, so running ``retry --all-failed`` twice does not retry twice.
    """
    from models import JobStatus

    failed_users = JobStatus.objects(status="failed", updated_at__gte=since).distinct("user_id")
    targets = []
    for user_id in sorted(failed_users):
        latest = JobStatus.objects(user_id=user_id).order_by("-queued_at").only("job_id", "status").first()
        if latest is not None and latest.status == "failed":
            targets.append(latest.job_id)
    return targets


def cancel_cmd(ctx: Context, args: argparse.Namespace) -> int:
    from web.serializers import job_json

    job = ctx.producer().remove_job(args.job)
    if ctx.json:
        as_json(job_json(job), ctx.out)
    elif job.status == "cancelled":
        ctx.out.write(f"Cancelled job {job.job_id} of user {job.user_id}.\n")
    else:
        ctx.out.write(
            f"Job {job.job_id} of user {job.user_id} is running: it stops before its next account.\n"
        )
    return 0
