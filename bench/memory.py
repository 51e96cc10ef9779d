"""Memory: a worker process's resident memory after many jobs against after the first 100.

    python -m bench.memory [--jobs 600] [--users 100] [--threads 10]

The Procfile's ``worker`` (one process) runs waves of one job per user (the first wave fetches 30
days, later ones are incremental) until ``--jobs`` ran; the RSS of the process that runs the jobs
after 100 jobs is the baseline of its RSS at the end (target: growth < 10 %).
"""

from __future__ import annotations

import sys
import time

from bench.common import arguments, rss_mb, seed_users, start_stack, wait_for
from bench.figures import Figure, finish
from bench.workers import Workers

DEFAULTS = dict(jobs=600, users=100, threads=10)
SIZES = {"smoke": dict(jobs=20, users=5, threads=2), "full": dict(jobs=10_000)}
#: Jobs after which the baseline RSS is read (smoke: one wave).
BASELINE_JOBS = 100


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.memory", __doc__, DEFAULTS, SIZES)
    with start_stack(time_scale=1000.0) as stack:
        user_ids = [f"mem-{n:05d}" for n in range(args.users)]
        seed_users(stack, user_ids)
        started = time.monotonic()
        with Workers(stack, "ours", 1, args.threads) as workers:
            samples = run_waves(workers, user_ids, args.jobs, min(BASELINE_JOBS, args.jobs // 2))
    seconds = time.monotonic() - started
    (_, boot), (base_jobs, base), (end_jobs, end) = samples[0], samples[1], samples[-1]
    growth = 100 * (end - base) / base if base else None
    figure = Figure(
        "memory", f"worker RSS growth, {end_jobs:,} jobs vs {base_jobs}", growth, unit="%", target="< 10",
        note=f"RSS {base:.1f} MB after {base_jobs} jobs, {end:.1f} MB after {end_jobs:,}; boot {boot:.1f} MB",
    ).check()  # fmt: skip
    rate = round(end_jobs / seconds, 1)
    print(f"{rate} jobs/s over {seconds:.1f} s")
    details = {"samples": samples, "seconds": round(seconds, 1), "jobsPerSecond": rate}
    return finish([figure], details, args.json)


def run_waves(
    workers: Workers, user_ids: list[str], jobs: int, baseline_after: int
) -> list[tuple[int, float]]:
    """Waves of a job per user until ``jobs`` ran; the RSS at boot, after ``baseline_after``, at the end."""
    import actors
    from models import JobStatus
    from services.platform.settings import get_settings

    records, producer = JobStatus._get_collection(), actors.producer(get_settings())
    samples, done = [(0, _rss(workers))], 0
    while done < jobs:
        wave = user_ids[: min(len(user_ids), jobs - done)]
        producer.enqueue_users(wave, "manual")
        done += len(wave)
        wait_for(lambda t=done: records.count_documents({"status": "completed"}) >= t,
                 timeout=600, interval=0.1, what="a wave of jobs")  # fmt: skip
        if done % 1000 == 0 and done < jobs:
            print(f"  after {done:>6} jobs: worker RSS {_rss(workers):.1f} MB", flush=True)
        if done >= baseline_after and len(samples) == 1 or done >= jobs:
            samples.append((done, _rss(workers)))
            print(f"  after {done:>6} jobs: worker RSS {samples[-1][1]:.1f} MB", flush=True)
    return samples


def _rss(workers: Workers) -> float:
    return sum(rss_mb(pid) for pid in workers.worker_pids())


if __name__ == "__main__":
    sys.exit(main())
