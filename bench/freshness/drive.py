"""Freshness at scale: a time-scaled run of the real system, measuring the share of users whose data
is younger than their interval.

    python -m bench.freshness [--users 150] [--hours 3] [--scale 60] [--tick-minutes 5]

Everything is the production topology on loopback, with time compressed ``--scale`` times:

- the SP-API sandbox and our quota buckets at SANDBOX_TIME_SCALE = SP_API_QUOTA_TIME_SCALE = scale;
- SYNC_INTERVAL_MINUTES = 60 simulated minutes (``60 / scale`` real minutes: scale 60 → 1) and the
  scheduler (the Procfile's ``scheduler`` process) ticking every ``--tick-minutes`` simulated
  minutes (SCHEDULER_EVERY_SECONDS); quota sleeps, job backoffs and the job time limit scaled alike;
- N sync-enabled users with 1-3 seller accounts (60/30/10 %) and order volumes drawn from a log-normal
  spread (median 60 orders in 30 days, a long tail to 5,000, which a first sync pages through at
  getOrders' one page a minute), 3-30 SKUs;
- workers: the Procfile's ``worker`` process, first at ``--processes`` × ``--threads``, then resized
  after the first wave by ``services.operations.capacity`` (the plan behind ``sellersync capacity``, from the
  first wave's job records, for one interval), within ``--max-processes``;
- the embedded document server and redis-server, each a separate process.

At each sample (every ``--tick-minutes`` simulated minutes) it reports the share of users whose last
successful sync (``User.last_synced_at``) is younger than the interval, p50/p95 of the data's age, and
the queue's oldest waiting message. After the first wave (every user synced once) the target is
≥ 99 % fresh at every sample. It ends with the overall share, the CPU each part used, and the
bottleneck it points at: scheduler, Redis, document store, worker CPU or SP-API quotas.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from bench.common import CpuMeter, Figure, Stack, apply_size, finish, seed_users, size_arguments, start_stack
from bench.workers import LOGS

#: The product's interval, in simulated minutes.
INTERVAL_MINUTES = 60
TARGET_SHARE = 0.99
DEFAULTS = dict(users=150, hours=3.0, scale=60.0, tick_minutes=5.0, processes=2, threads=8, max_processes=4)
SIZES = {"smoke": dict(users=6, hours=0.2, tick_minutes=2.0, processes=1, threads=4), "full": dict(hours=6.0)}


@dataclass
class Sample:
    #: Simulated minutes since the start.
    minute: float
    share_fresh: float
    synced_once: int
    p50_age_minutes: float | None
    p95_age_minutes: float | None
    oldest_waiting_minutes: float
    queued: int
    #: The moment (UTC, ISO) the ages were computed at.
    at: str = ""


@dataclass
class Report:
    users: int
    accounts: int
    scale: float
    hours: float
    tick_minutes: float
    workers: list[str] = field(default_factory=list)
    capacity_plan: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    first_wave_minute: float | None = None
    overall_share: float | None = None
    min_share: float | None = None
    cpu_shares: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)
    bottleneck: str = ""
    #: A last sample taken after every process stopped, with the raw data behind it: each user's
    #: ``last_synced_at`` and each user's latest completed job (``completed_at``), so that a test can
    #: check the share against the job records.
    final: dict = field(default_factory=dict)

    def figures(self) -> list[Figure]:
        return [
            Figure(
                "freshness",
                f"min share fresh after the first wave ({self.users} users, {self.hours:g} h)",
                None if self.min_share is None else 100 * self.min_share,
                unit="%",
                target="≥ 99",
                note=f"overall {fmt_share(self.overall_share)}; bottleneck: {self.bottleneck}",
            ).check()
        ]


def fmt_share(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.2f} %"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULTS["users"])
    parser.add_argument(
        "--hours", type=float, default=DEFAULTS["hours"], help="simulated hours after the first wave"
    )
    parser.add_argument(
        "--scale", type=float, default=DEFAULTS["scale"], help="time scale (60: an hour a minute)"
    )
    parser.add_argument(
        "--tick-minutes", type=float, default=DEFAULTS["tick_minutes"], help="scheduler period, simulated"
    )
    parser.add_argument(
        "--processes", type=int, default=DEFAULTS["processes"], help="worker processes at first"
    )
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"], help="threads per worker process")
    parser.add_argument(
        "--max-processes", type=int, default=DEFAULTS["max_processes"], help="cap of the resize"
    )
    size_arguments(parser)
    args = parser.parse_args(argv)
    apply_size(args, SIZES, DEFAULTS)
    return args


def user_profile(rng: random.Random) -> dict:
    orders = int(min(5000, max(5, rng.lognormvariate(math.log(60), 1.2))))
    return {"orders": orders, "skus": rng.randint(3, 30), "days": 30}


def accounts_of(rng: random.Random) -> int:
    return rng.choices((1, 2, 3), weights=(60, 30, 10))[0]


def run(
    users: int = 300,
    hours: float = 3.0,
    scale: float = 60.0,
    tick_minutes: float = 5.0,
    processes: int = 2,
    threads: int = 8,
    max_processes: int = 4,
) -> Report:
    interval_real_minutes = INTERVAL_MINUTES / scale
    if interval_real_minutes != int(interval_real_minutes) or interval_real_minutes < 1:
        raise SystemExit("--scale must divide 60 (SYNC_INTERVAL_MINUTES is a whole number of real minutes)")
    real = 60.0 / scale  # real seconds per simulated minute
    env = {
        "SYNC_INTERVAL_MINUTES": str(int(interval_real_minutes)),
        "SCHEDULER_EVERY_SECONDS": str(tick_minutes * real),
        "SP_API_QUOTA_MAX_WAIT_SECONDS": str(5.0 / scale),
        "JOB_MIN_BACKOFF_MS": str(max(50, int(15_000 / scale))),
        "JOB_MAX_BACKOFF_MS": str(max(100, int(3_600_000 / scale))),
        "JOB_TIME_LIMIT_SECONDS": str(max(30, int(900 / scale) * 4)),
        "SP_API_RETRY_WAIT_SECONDS": "0.05",
        "WORKER_CONCURRENCY": str(threads),
    }
    with start_stack(time_scale=scale, settings=env) as stack:
        import actors  # noqa: F401  (the broker of this process, to read the queue)

        user_ids = [f"fresh-{n:06d}" for n in range(users)]
        sellers = seed_users(stack, user_ids, accounts=accounts_of, profile=user_profile)
        report = Report(users, len(sellers), scale, hours, tick_minutes)
        return simulate(stack, report, user_ids, processes, threads, max_processes, real, env)


def simulate(
    stack: Stack,
    report: Report,
    user_ids: list[str],
    processes: int,
    threads: int,
    max_processes: int,
    real: float,
    env: dict[str, str],
) -> Report:
    from bench.common import process_env, process_tree
    from embedded.processes import Supervisor
    from embedded.procfile import read_procfile

    LOGS.mkdir(exist_ok=True)
    log = (LOGS / "freshness.log").open("w")
    supervisor = Supervisor(process_env(stack, WORKER_PROCESSES=str(processes)), out=log)
    commands = read_procfile()
    supervisor.start("worker", commands["worker"], restart=True)
    supervisor.start("scheduler", commands["scheduler"], restart=True)
    report.workers.append(f"{processes} × {threads} (start)")
    period = report.tick_minutes * real
    started = time.monotonic()

    def tree(name: str):
        return lambda: process_tree(supervisor.processes[name].pid or 0)

    meter = CpuMeter({
        "workers": tree("worker"),
        "scheduler": tree("scheduler"),
        "document server": lambda: [stack.pids["documents"]],
        "redis": lambda: [stack.pids["redis"]],
        "sandbox+bench": lambda: [os.getpid()],
    })  # fmt: skip
    try:
        end_minute: float | None = None
        resized = False
        while True:
            sample = take_sample(stack, user_ids, (time.monotonic() - started) / real)
            report.samples.append(sample)
            print(
                f"  t={sample.minute:6.1f} min  fresh {100 * sample.share_fresh:6.2f} %  synced once "
                f"{sample.synced_once}/{len(user_ids)}  age p50 {_m(sample.p50_age_minutes)} p95 "
                f"{_m(sample.p95_age_minutes)}  queue {sample.queued}, "
                f"oldest {sample.oldest_waiting_minutes:.1f} min",
                flush=True,
            )
            if report.first_wave_minute is None and sample.synced_once == len(user_ids):
                report.first_wave_minute = sample.minute
                end_minute = sample.minute + report.hours * 60
                if not resized:
                    resized = True
                    processes = resize(supervisor, commands, report, processes, threads, max_processes)
                meter.start()
                machine_before = machine_cpu()
            if end_minute is not None and sample.minute >= end_minute:
                break
            if report.first_wave_minute is None and sample.minute > 6 * 60:
                print("  the first wave did not finish within 6 simulated hours; stopping")
                break
            next_at = started + (len(report.samples)) * period
            time.sleep(max(0.0, next_at - time.monotonic()))
        if meter._before:
            meter.stop()
            report.cpu_shares = meter.shares()
            busy, total = (a - b for a, b in zip(machine_cpu(), machine_before, strict=True))
            report.cpu_shares["whole machine (every process, of all cores)"] = busy / total if total else 0.0
    finally:
        supervisor.stop()
        log.close()
    report.final = final_evidence(user_ids, (time.monotonic() - started) / real)
    conclude(stack, report, processes)
    return report


def final_evidence(user_ids: list[str], minute: float) -> dict:
    """A sample with nothing running, and the users' and job records' timestamps behind it."""
    from models import JobStatus, User
    from services.platform.settings import get_settings

    sample = take_sample_at(user_ids, minute, datetime.now(UTC))
    users = {
        d["user_id"]: d.get("last_synced_at")
        for d in User._get_collection().find(
            {"user_id": {"$in": user_ids}}, {"user_id": 1, "last_synced_at": 1}
        )
    }
    jobs: dict[str, datetime] = {}
    completed = JobStatus._get_collection().find(
        {"user_id": {"$in": user_ids}, "status": "completed"}, {"user_id": 1, "completed_at": 1}
    )
    for record in completed:
        if record["user_id"] not in jobs or record["completed_at"] > jobs[record["user_id"]]:
            jobs[record["user_id"]] = record["completed_at"]
    return {
        "sample": asdict(sample),
        "intervalSeconds": get_settings().sync_interval_minutes * 60,
        "lastSyncedAt": {u: t.isoformat() if t else None for u, t in users.items()},
        "lastCompletedJobAt": {u: t.isoformat() for u, t in jobs.items()},
    }


def machine_cpu() -> tuple[float, float]:
    """Busy and total jiffies of every core since boot (/proc/stat): other work on the machine too."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def take_sample(stack: Stack, user_ids: list[str], minute: float) -> Sample:
    return take_sample_at(user_ids, minute, datetime.now(UTC))


def take_sample_at(user_ids: list[str], minute: float, now: datetime) -> Sample:
    from models import User
    from services.platform.settings import get_settings

    settings = get_settings()
    interval = settings.sync_interval_minutes * 60
    scale = INTERVAL_MINUTES * 60 / interval  # simulated seconds per real second
    documents = User._get_collection().find({"user_id": {"$in": user_ids}}, {"last_synced_at": 1, "_id": 0})
    ages = [(now - d["last_synced_at"]).total_seconds() for d in documents if d.get("last_synced_at")]
    share = fresh_share(ages, interval, len(user_ids))
    ages.sort()
    queued, oldest = queue_state(settings, now)
    return Sample(
        minute=round(minute, 2),
        share_fresh=share,
        synced_once=len(ages),
        p50_age_minutes=ages[len(ages) // 2] * scale / 60 if ages else None,
        p95_age_minutes=ages[min(len(ages) - 1, int(len(ages) * 0.95))] * scale / 60 if ages else None,
        oldest_waiting_minutes=oldest * scale / 60,
        queued=queued,
        at=now.isoformat(),
    )


def fresh_share(ages_seconds: list[float], interval_seconds: float, users: int) -> float:
    """The share of ``users`` whose data is younger than the interval (never synced: not fresh)."""
    return sum(1 for age in ages_seconds if age < interval_seconds) / users if users else 0.0


def queue_state(settings, now: datetime) -> tuple[int, float]:
    """Jobs waiting to start (records ``queued``), and the age in real seconds of the oldest.

    Read from the job records, not the Redis list: Dramatiq's consumers prefetch messages (two per
    thread), so an empty list does not mean that no job is waiting.
    """
    from models import JobStatus

    records = JobStatus._get_collection()
    waiting = records.count_documents({"status": "queued"})
    if not waiting:
        return 0, 0.0
    oldest = records.find({"status": "queued"}, {"queued_at": 1, "_id": 0}).sort("queued_at", 1).limit(1)
    first = next(iter(oldest), None)
    if first is None:
        return waiting, 0.0
    return waiting, max(0.0, (now - first["queued_at"]).total_seconds())


def resize(supervisor, commands, report: Report, processes: int, threads: int, max_processes: int) -> int:
    """Size the workers with ``services.operations.capacity`` from the first wave's records."""
    from services.operations import capacity
    from services.platform.settings import get_settings

    settings = get_settings()
    measured = capacity.measure()
    plan = capacity.plan(measured, settings, within_seconds=settings.sync_interval_minutes * 60)
    if plan is None:
        report.capacity_plan.append("no finished jobs measured; sizing kept")
        return processes
    report.capacity_plan = plan.arithmetic
    wanted = max(1, min(plan.processes, max_processes))
    note = f"{wanted} × {threads} (capacity plan: {plan.processes} processes"
    note += f", capped at {max_processes})" if plan.processes > max_processes else ")"
    print("  capacity: " + "; ".join(plan.arithmetic), flush=True)
    if wanted != processes:
        supervisor.processes["worker"].restart = False
        _stop_worker(supervisor)
        supervisor.env["WORKER_PROCESSES"] = str(wanted)
        supervisor.start("worker", commands["worker"], restart=True)
    report.workers.append(note)
    return wanted


def _stop_worker(supervisor) -> None:
    import signal

    worker = supervisor.processes["worker"]
    if worker.process is not None and worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=30)
        except Exception:
            supervisor.signal("worker", signal.SIGKILL, group=True)
    worker.exits.append(worker.process.returncode if worker.process else 0)


def conclude(stack: Stack, report: Report, processes: int) -> None:
    """The overall share after the first wave and the bottleneck the figures point at."""
    from models import JobStatus

    after = [
        s
        for s in report.samples
        if report.first_wave_minute is not None and s.minute > report.first_wave_minute
    ]
    if after:
        report.overall_share = sum(s.share_fresh for s in after) / len(after)
        report.min_share = min(s.share_fresh for s in after)
    jobs = JobStatus._get_collection()
    finished = jobs.count_documents({"status": {"$in": ["completed", "failed"]}})
    waited = jobs.count_documents({"quota_waits": {"$gt": 0}})
    failed = jobs.count_documents({"status": "failed"})
    throttled = sum(
        counts["throttled"] for ops in stack.sandbox.state.get_stats().values() for counts in ops.values()
    )
    cpu = dict(report.cpu_shares)
    whole = cpu.pop("whole machine (every process, of all cores)", 0.0)
    report.signals = {
        "worker CPU (share of their cores)": cpu.get("workers", 0.0) / max(1, processes),
        "document store CPU (one process)": cpu.get("document server", 0.0),
        "Redis CPU (one thread)": cpu.get("redis", 0.0),
        "scheduler CPU": cpu.get("scheduler", 0.0),
        "our processes' CPU (share of all cores)": sum(cpu.values()) / (os.cpu_count() or 1),
        "whole machine CPU, other work included (share of all cores)": whole,
        "jobs that waited for quota tokens": waited / finished if finished else 0.0,
        "failed jobs": failed,
        "429s": throttled,
    }
    report.bottleneck = bottleneck(report)


def bottleneck(report: Report) -> str:
    s = report.signals
    loads = {
        "worker CPU": s["worker CPU (share of their cores)"],
        "document store": s["document store CPU (one process)"],
        "Redis": s["Redis CPU (one thread)"],
        "scheduler": s["scheduler CPU"],
    }
    name, load = max(loads.items(), key=lambda kv: kv[1])
    stale = report.min_share is not None and report.min_share < TARGET_SHARE
    quota_bound = s["jobs that waited for quota tokens"] > 0.05
    machine = s["whole machine CPU, other work included (share of all cores)"]
    ours = s["our processes' CPU (share of all cores)"]
    if stale and machine > 0.9:
        return (
            f"worker CPU: the machine's {os.cpu_count()} cores were {machine:.0%} busy (ours "
            f"{ours:.0%}, the rest other work); the busiest of ours: "
            f"{name} at {load:.0%} of a core"
        )
    if stale and quota_bound and load < 0.7:
        return "SP-API quotas (jobs wait for their sellers' tokens while the servers have room)"
    idle_when_stale = all(
        s.queued == 0
        for s in report.samples
        if report.first_wave_minute is not None
        and s.minute > report.first_wave_minute
        and s.share_fresh < TARGET_SHARE
    )
    if stale and idle_when_stale and load < 0.7:
        return (
            "scheduler (users went stale with the queue empty and every server below 70 %: "
            "they were not enqueued in time)"
        )
    detail = f"{name} at {load:.0%} of a core; the machine's {os.cpu_count()} cores {machine:.0%} busy"
    return f"{name} ({detail})" + ("" if stale else "; the target holds, this is the first part to run out")


def _m(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.1f}"


def print_report(report: Report) -> None:
    print()
    print(f"Freshness: {report.users} users, {report.accounts} seller accounts, scale {report.scale:g} "
          f"(an hour in {60 / report.scale:g} min), "
          f"scheduler every {report.tick_minutes:g} simulated min")  # fmt: skip
    print(f"Workers: {'; then '.join(report.workers)}")
    for line in report.capacity_plan:
        print(f"  {line}")
    print(f"First wave done at {report.first_wave_minute} simulated min")
    print(f"After it, over {report.hours:g} simulated h: overall {fmt_share(report.overall_share)} fresh, "
          f"lowest sample {fmt_share(report.min_share)} (target ≥ 99 % at every sample)")  # fmt: skip
    after = [
        s
        for s in report.samples
        if report.first_wave_minute is not None and s.minute > report.first_wave_minute
    ]
    if after:
        p50 = max(s.p50_age_minutes or 0 for s in after)
        p95 = max(s.p95_age_minutes or 0 for s in after)
        oldest = max(s.oldest_waiting_minutes for s in after)
        print(
            f"Data age (simulated min), worst sample: p50 {p50:.1f}, p95 {p95:.1f}; "
            f"oldest waiting job {oldest:.1f}"
        )
    print("CPU, share of one core: " + ", ".join(f"{k} {v:.0%}" for k, v in report.cpu_shares.items()))
    print(
        "Signals: "
        + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in report.signals.items())
    )
    print(f"Bottleneck: {report.bottleneck}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args.users, args.hours, args.scale, args.tick_minutes, args.processes, args.threads,
                 args.max_processes)  # fmt: skip
    print_report(report)
    finish(report.figures(), {"freshness": asdict(report)}, args.json)
    return 0 if report.min_share is not None and report.min_share >= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
