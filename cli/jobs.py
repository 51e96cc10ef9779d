"""``enqueue``, ``retry`` and ``cancel``: change the job queue from a shell."""

from __future__ import annotations

import argparse
from datetime import timedelta

from cli.arguments import duration, job_id
from cli.context import Context
from cli.output import as_json, print_enqueued, progress
from models import utcnow
from services.jobs.json_shape import cancel_json, iso
from services.operations import onboarding
from services.platform.errors import InvalidInputError, UnknownUserError


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    enqueue = commands.add_parser("enqueue", parents=[common], help="enqueue users' syncs now")
    enqueue.add_argument("users", nargs="*", metavar="USER")
    enqueue.add_argument("--all-due", action="store_true", help="every user the scheduler would enqueue now")
    enqueue.add_argument("--dry-run", action="store_true", help="with --all-due: list the due users only")
    enqueue.set_defaults(run=enqueue_cmd)

    retry = commands.add_parser("retry", parents=[common], help="enqueue a failed or cancelled job again")
    retry.add_argument("job", nargs="?", type=job_id, metavar="JOB")
    retry.add_argument("--all-failed", action="store_true", help="every user whose latest job failed")
    retry.add_argument("--since", type=duration, default=timedelta(hours=24), help="with --all-failed (24h)")
    retry.set_defaults(run=retry_cmd)

    cancel = commands.add_parser("cancel", parents=[common], help="cancel a queued or running job")
    cancel.add_argument("job", type=job_id, metavar="JOB")
    cancel.set_defaults(run=cancel_cmd)


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
    print_enqueued(ctx, [producer.enqueue_user(u, "manual") for u in user_ids])
    return 0


def _enqueue_due(ctx: Context, *, dry_run: bool) -> int:
    from services.schedule.due_users import due_user_batches

    ctx.store()
    producer = None if dry_run else ctx.producer()
    results, due = [], []
    for batch in due_user_batches(ctx.settings, ctx.redis()):
        if dry_run:
            due.extend(batch)
        else:
            # The scheduler's tick, run by hand: its jobs take the standard lane, as the tick's would.
            results.extend(producer.enqueue_users(batch, "schedule", known=True))
        progress(f"{len(due) + len(results):,} due users {'found' if dry_run else 'enqueued'}…", ctx.err)
    if dry_run:
        if ctx.json:
            as_json({"due": due}, ctx.out)
        else:
            ctx.out.write("".join(f"{u}\n" for u in due))
            ctx.out.write(f"Dry run: {len(due)} users due; nothing enqueued.\n")
        return 0
    print_enqueued(ctx, results)
    return 0


def retry_cmd(ctx: Context, args: argparse.Namespace) -> int:
    if (args.job is None) == (not args.all_failed):
        raise InvalidInputError("JOB", "name a job, or give --all-failed (not both)")
    producer = ctx.producer()
    if args.job:
        print_enqueued(ctx, [producer.retry_job(args.job)])
        return 0
    targets = latest_failed_jobs(utcnow() - args.since)
    results = []
    for index, failed_id in enumerate(targets, 1):
        results.append(producer.retry_job(failed_id))
        if index % 100 == 0 or index == len(targets):
            progress(f"{index:,} of {len(targets):,} failed jobs retried…", ctx.err)
    if not targets:
        progress(f"No user's latest job failed in the last {args.since}.", ctx.err)
    print_enqueued(ctx, results)
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
    """As DELETE /app/job-status/job/{id}: cancelled, or requested while it runs; again is no error."""
    cancellation = ctx.producer().remove_job(args.job)
    job = cancellation.record
    if ctx.json:
        as_json(cancel_json(cancellation), ctx.out)
    elif cancellation.repeated and cancellation.done:
        ctx.out.write(f"Job {job.job_id} of user {job.user_id} was already cancelled.\n")
    elif cancellation.done:
        ctx.out.write(f"Cancelled job {job.job_id} of user {job.user_id}.\n")
    else:
        asked = "was already requested" if cancellation.repeated else "is requested"
        ctx.out.write(
            f"Cancel of job {job.job_id} of user {job.user_id} {asked} (at {iso(job.cancel_requested_at)}):"
            " it is running and stops before its next account, or completes if that is its last.\n"
        )
    return 0
