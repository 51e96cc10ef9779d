"""Memory: a worker process's resident memory after many jobs against after the first 100.

    python -m bench.memory [--jobs 600] [--users 100] [--threads 10]

The Procfile's ``worker`` process (one process, ``--threads`` threads) runs waves of one job per user
for ``--users`` users (one account each, 20 orders, 2 SKUs: the first wave fetches 30 days, later
waves are incremental syncs, as an hourly schedule makes them), until ``--jobs`` jobs have run. The
RSS of the process that runs the jobs (the ``dramatiq`` CLI's child) is read after 100 jobs, the
baseline, and at the end. Target: growth < 10 %. Real job records accumulate in the document server
meanwhile, as they would.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common import Figure, apply_size, finish, rss_mb, seed_users, size_arguments, start_stack, wait_for
from bench.workers import Workers

DEFAULTS = dict(jobs=600, users=100, threads=10)
SIZES = {"smoke": dict(jobs=20, users=5, threads=2), "full": dict(jobs=10_000)}
#: Jobs after which the baseline RSS is read (smoke: one wave).
BASELINE_JOBS = 100
PROFILE = {"orders": 20, "skus": 2, "days": 30}


def run(jobs: int = 1000, users: int = 100, threads: int = 10) -> tuple[list[Figure], dict]:
    from models import JobStatus

    baseline_after = min(BASELINE_JOBS, jobs // 2)
    with start_stack(time_scale=1000.0) as stack:
        import actors
        from services.platform.settings import get_settings

        producer = actors.producer(get_settings())

        user_ids = [f"mem-{n:05d}" for n in range(users)]
        seed_users(stack, user_ids, profile=lambda rng: dict(PROFILE))
        records = JobStatus._get_collection()
        done = 0
        samples: list[tuple[int, float]] = []
        started = time.monotonic()
        with Workers(stack, "ours", 1, threads) as workers:
            samples.append((0, _rss(workers)))
            while done < jobs:
                wave = user_ids[: min(users, jobs - done)]
                producer.enqueue_users(wave, "manual")
                target = done + len(wave)
                wait_for(
                    lambda t=target: records.count_documents({"status": "completed"}) >= t,
                    timeout=600,
                    interval=0.1,
                    what="a wave of jobs",
                )
                done = target
                if done % 1000 == 0 and done < jobs:
                    print(f"  after {done:>6} jobs: worker RSS {_rss(workers):.1f} MB", flush=True)
                if done >= baseline_after and len(samples) == 1 or done >= jobs:
                    samples.append((done, _rss(workers)))
                    print(f"  after {done:>6} jobs: worker RSS {samples[-1][1]:.1f} MB", flush=True)
        seconds = time.monotonic() - started
    (base_jobs, base), (end_jobs, end) = samples[1], samples[-1]
    growth = 100 * (end - base) / base if base else None
    figure = Figure(
        "memory",
        f"worker RSS growth, {end_jobs:,} jobs vs {base_jobs}",
        growth,
        unit="%",
        target="< 10",
        note=f"RSS {base:.1f} MB after {base_jobs} jobs, {end:.1f} MB after {end_jobs:,}; "
        f"boot {samples[0][1]:.1f} MB",
    ).check()
    details = {"samples": samples, "seconds": round(seconds, 1), "jobsPerSecond": round(done / seconds, 1)}
    return [figure], details


def _rss(workers: Workers) -> float:
    return sum(rss_mb(pid) for pid in workers.worker_pids())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=DEFAULTS["jobs"])
    parser.add_argument("--users", type=int, default=DEFAULTS["users"])
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    size_arguments(parser)
    args = parser.parse_args(argv)
    apply_size(args, SIZES, DEFAULTS)
    figures, details = run(args.jobs, args.users, args.threads)
    print(f"{details['jobsPerSecond']} jobs/s over {details['seconds']} s")
    return finish(figures, details, args.json)


if __name__ == "__main__":
    sys.exit(main())
