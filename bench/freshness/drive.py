"""Drive a freshness run: seed the users, start the Procfile's worker and scheduler at a scaled time,
take a sample every tick, and resize the workers after the first wave (services.operations.capacity)."""

from __future__ import annotations

import math
import random
import time

from bench.common import CpuMeter, Stack, machine_cpu, process_env, process_tree, seed_users, start_stack
from bench.freshness import INTERVAL_MINUTES, WHOLE_MACHINE
from bench.freshness.diagnose import conclude
from bench.freshness.report import Report, sample_line
from bench.freshness.sample import final_evidence, take_sample
from bench.workers import LOGS
from embedded.lifeline import stop_process
from embedded.processes import Supervisor
from embedded.procfile import read_procfile

#: The shortest heartbeat timeout a scaled run uses (ms): the reliability scenarios' partition and long jobs.
HEARTBEAT_FLOOR_MS = 4_000
#: Simulated minutes the first wave may take before the run gives up.
FIRST_WAVE_MAX_MINUTES = 6 * 60


def user_profile(rng: random.Random) -> dict:
    orders = int(min(5000, max(5, rng.lognormvariate(math.log(60), 1.2))))
    return {"orders": orders, "skus": rng.randint(3, 30), "days": 30}


def accounts_of(rng: random.Random) -> int:
    return rng.choices((1, 2, 3), weights=(60, 30, 10))[0]


def scaled_settings(scale: float, tick_minutes: float, threads: int) -> dict[str, str]:
    """The settings of every process: the interval, the tick, waits and backoffs, ``scale`` times faster."""
    interval_real_minutes = INTERVAL_MINUTES / scale
    if interval_real_minutes != int(interval_real_minutes) or interval_real_minutes < 1:
        raise SystemExit("--scale must divide 60 (SYNC_INTERVAL_MINUTES is a whole number of real minutes)")
    return {
        "SYNC_INTERVAL_MINUTES": str(int(interval_real_minutes)),
        "SCHEDULER_EVERY_SECONDS": str(tick_minutes * 60.0 / scale),
        "SP_API_QUOTA_MAX_WAIT_SECONDS": str(5.0 / scale),
        "JOB_MIN_BACKOFF_MS": str(max(50, int(15_000 / scale))),
        "JOB_MAX_BACKOFF_MS": str(max(100, int(3_600_000 / scale))),
        "JOB_TIME_LIMIT_SECONDS": str(max(30, int(900 / scale) * 4)),
        "SP_API_RETRY_WAIT_SECONDS": "0.05",
        # The heartbeat timeout, and the job lease that is half of it (services.jobs.lease): unscaled,
        # a lease left behind by a stopped worker holds its job back 30 real seconds, half an
        # interval here, where production loses 30 s of 60 minutes. Not below the 4 s the
        # reliability scenarios run with: a consumer heartbeats about once a second when idle.
        "BROKER_HEARTBEAT_TIMEOUT_MS": str(max(HEARTBEAT_FLOOR_MS, int(60_000 / scale))),
        "WORKER_CONCURRENCY": str(threads),
    }


def run(args) -> Report:
    """Seed the users, drive the run, and conclude (``args``: bench.freshness's options)."""
    settings = scaled_settings(args.scale, args.tick_minutes, args.threads)
    with start_stack(time_scale=args.scale, settings=settings) as stack:
        import actors  # noqa: F401  (the broker of this process, to read the queue)

        user_ids = [f"fresh-{n:06d}" for n in range(args.users)]
        sellers = seed_users(stack, user_ids, accounts=accounts_of, profile=user_profile)
        report = Report(args.users, len(sellers), args.scale, args.hours, args.tick_minutes)
        drive = Drive(stack, report, user_ids, args)
        try:
            drive.sample_until_done()
            drive.measure_cpu()
        finally:
            drive.stop()
        report.final = final_evidence(user_ids, drive.minute())
        conclude(stack, report, drive.processes)
        return report


class Drive:
    """The worker and scheduler of one run, its samples, and the CPU each part used after the first wave."""

    def __init__(self, stack: Stack, report: Report, user_ids: list[str], args) -> None:
        self.stack, self.report, self.user_ids = stack, report, user_ids
        self.processes, self.threads, self.max_processes = args.processes, args.threads, args.max_processes
        self.real = 60.0 / report.scale  # real seconds per simulated minute
        LOGS.mkdir(exist_ok=True)
        self._log = (LOGS / "freshness.log").open("w")
        env = process_env(stack, WORKER_PROCESSES=str(self.processes))
        self.supervisor = Supervisor(env, out=self._log)
        self.commands = read_procfile()
        for name in ("worker", "scheduler"):
            self.supervisor.start(name, self.commands[name], restart=True)
        report.workers.append(f"{self.processes} × {self.threads} (start)")
        self.meter = CpuMeter(stack, {"workers": self._tree("worker"), "scheduler": self._tree("scheduler")})
        self._machine_before = (0.0, 0.0)
        self.started = time.monotonic()

    def _tree(self, name: str):
        return lambda: process_tree(self.supervisor.processes[name].pid or 0)

    def minute(self) -> float:
        return (time.monotonic() - self.started) / self.real

    def sample_until_done(self) -> None:
        """A sample every tick until ``hours`` after the first wave (or the first wave takes too long)."""
        report, end_minute = self.report, None
        while True:
            sample = take_sample(self.user_ids, self.minute())
            report.samples.append(sample)
            print(sample_line(sample, len(self.user_ids)), flush=True)
            if report.first_wave_minute is None and sample.synced_once == len(self.user_ids):
                end_minute = self._after_first_wave(sample.minute)
            if end_minute is not None and sample.minute >= end_minute:
                return
            if report.first_wave_minute is None and sample.minute > FIRST_WAVE_MAX_MINUTES:
                print("  the first wave did not finish within 6 simulated hours; stopping")
                return
            next_at = self.started + len(report.samples) * report.tick_minutes * self.real
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _after_first_wave(self, minute: float) -> float:
        """Resize the workers, start measuring CPU; the minute the run ends."""
        self.report.first_wave_minute = minute
        self.resize()
        self.meter.start()
        self._machine_before = machine_cpu()
        return minute + self.report.hours * 60

    def resize(self) -> None:
        """Size the workers with ``services.operations.capacity`` from the first wave's records."""
        from services.operations import capacity
        from services.platform.settings import get_settings

        settings = get_settings()
        plan = capacity.plan(capacity.measure(), settings, within_seconds=settings.sync_interval_minutes * 60)
        if plan is None:
            self.report.capacity_plan.append("no finished jobs measured; sizing kept")
            return
        self.report.capacity_plan = plan.arithmetic
        wanted = max(1, min(plan.processes, self.max_processes))
        note = f"{wanted} × {self.threads} (capacity plan: {plan.processes} processes"
        note += f", capped at {self.max_processes})" if plan.processes > self.max_processes else ")"
        print("  capacity: " + "; ".join(plan.arithmetic), flush=True)
        if wanted != self.processes:
            self._restart_worker(wanted)
        self.report.workers.append(note)
        self.processes = wanted

    def _restart_worker(self, processes: int) -> None:
        worker = self.supervisor.processes["worker"]
        worker.restart = False
        if worker.process is not None:
            worker.exits.append(stop_process(worker.process, timeout=30))
        self.supervisor.env["WORKER_PROCESSES"] = str(processes)
        self.supervisor.start("worker", self.commands["worker"], restart=True)

    def measure_cpu(self) -> None:
        """Each part's CPU since the first wave, and the whole machine's (other work included)."""
        if self.report.first_wave_minute is None:
            return
        self.meter.stop()
        self.report.cpu_shares = self.meter.shares()
        busy, total = (a - b for a, b in zip(machine_cpu(), self._machine_before, strict=True))
        self.report.cpu_shares[WHOLE_MACHINE] = busy / total if total else 0.0

    def stop(self) -> None:
        self.supervisor.stop()
        self._log.close()
