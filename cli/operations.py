"""``capacity``, ``doctor`` and ``dev``: sizing from measured jobs, what is wrong, and the local system."""

from __future__ import annotations

import argparse

from cli.arguments import duration, positive_int
from cli.context import Context
from cli.output import as_json, table


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    capacity = commands.add_parser(
        "capacity", parents=[common], help="workers needed per hourly wave, from the last 24 h of jobs"
    )
    capacity.add_argument(
        "--within", type=duration, default=duration("45m"), help="finish each wave within (45m)"
    )
    capacity.add_argument("--users", type=positive_int, help="size for this many users instead of today's")
    capacity.set_defaults(run=capacity_cmd)
    doctor = commands.add_parser(
        "doctor", parents=[common], help="check settings, servers, workers, scheduler, SP-API"
    )
    doctor.set_defaults(run=doctor_cmd)
    dev = commands.add_parser("dev", help="the whole system on this machine, on embedded servers (make dev)")
    dev.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    dev.set_defaults(run=dev_cmd)


def capacity_cmd(ctx: Context, args: argparse.Namespace) -> int:
    from services.jobs.presence import Presence
    from services.operations.capacity import report

    ctx.store()
    presence = Presence(ctx.settings, ctx.redis())
    data = report(ctx.settings, args.within.total_seconds(), users=args.users, live_workers=presence.count)
    if ctx.json:
        as_json(data, ctx.out)
        return 0
    m, plan, out = data["measured"], data["plan"], ctx.out
    out.write(f"Measured over the last {data['windowHours']:.0f} h: {plural(m['jobs'], 'finished job')}.\n")
    if plan is None:
        out.write("No finished job to measure yet: run a sync (sellersync enqueue USER), then ask again.\n")
    else:
        table(
            [
                ("job duration p50", f"{m['p50_seconds']:,.1f} s"),
                ("job duration p95", f"{m['p95_seconds']:,.1f} s"),
                ("longest job", f"{m['max_seconds']:,.1f} s"),
                ("accounts per user", f"{m['accounts_per_user']:.2f}"),
                (
                    "retry rate",
                    f"{m['retry_rate']:.1%} of jobs ({m['attempts_per_job']:.2f} attempts per job)",
                ),
                ("jobs that waited for a quota", m["jobs_with_quota_waits"]),
                ("sync-enabled users", f"{m['sync_enabled_users']:,}"),
            ],
            ("MEASURE", "VALUE"),
            out,
        )
        out.write(f"\nTo finish each hourly wave within {plan['within_seconds'] / 60:g} min:\n")
        out.write("".join(f"  {line}\n" for line in plan["arithmetic"]))
        out.write(
            f"Needed: {plan['processes']} worker process(es) × {plan['threads_per_process']} threads "
            f"(WORKER_PROCESSES × WORKER_CONCURRENCY, {plural(plan['threads'], 'thread')} in all).\n"
        )
        if data["liveWorkerProcesses"] is not None:
            out.write(f"Alive now: {data['liveWorkerProcesses']} worker process(es).\n")
        if not plan["feasible"]:
            out.write(
                f"Warning: a p95 job alone takes {m['p95_seconds']:,.0f} s, longer than the target: "
                "more workers do not shorten one user's job (see below).\n"
            )
    out.write("\nWhat limits one user's job (per-seller SP-API quotas, which no number of workers raises):\n")
    out.write("".join(f"  {line}\n" for line in data["perUserLimits"]))
    return 0


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def doctor_cmd(ctx: Context, args: argparse.Namespace) -> int:
    from services.operations.doctor import run_doctor

    checks = run_doctor(ctx.settings)
    failed = [c for c in checks if c.failed]
    if ctx.json:
        as_json(
            {
                "ok": not failed,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix} for c in checks
                ],
            },
            ctx.out,
        )
    else:
        for check in checks:
            ctx.out.write(f"{check.status.upper():4}  {check.name}: {check.detail}\n")
            if check.fix and check.status != "ok":
                ctx.out.write(f"      fix: {check.fix}\n")
        warned = [c.name for c in checks if c.status == "warn"]
        note = f" ({plural(len(warned), 'warning')}: {', '.join(warned)})" if warned else ""
        ctx.out.write(
            f"\n{len(failed)} of {len(checks)} checks failed: {', '.join(c.name for c in failed)}.{note}\n"
            if failed
            else f"\nAll {len(checks)} checks passed{note}.\n"
        )
    return 1 if failed else 0


def report_bad_settings(out, error: Exception) -> int:
    """What the doctor says when the settings cannot even be read: that one finding, and exit 1."""
    out.write(
        f"FAIL  settings: {error}\n      fix: correct it in the environment or .env (README, Settings)\n"
    )
    out.write("\nThe other checks need valid settings: not run.\n")
    return 1


def dev_cmd(ctx: Context, args: argparse.Namespace) -> int:
    from devmode.__main__ import main as dev_main

    return dev_main(args.rest)
