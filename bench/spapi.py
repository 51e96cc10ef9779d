"""One large seller through a real job, against the sandbox at Amazon's rates, time scaled.

    python -m bench.spapi [--orders 10000] [--skus 200] [--scale 100]

One dramatiq worker thread syncs the seller, the sandbox and our quota buckets ``--scale`` times
faster than Amazon, SP_API_QUOTA_MAX_WAIT_SECONDS 5 s of Amazon time: every getOrders page after the
burst hands the job back to the broker until its token is due, as in production. The ideal of an
operation is ``max(0, calls - burst) / (rate * scale)``, ``calls`` the requests the sandbox served;
our fetch runs the operations in sequence, so the figure is the sum of the ideals / the measured job
(target ≥ 0.9); the max (a client running them concurrently) is printed too, and the 429s.
"""

from __future__ import annotations

import sys
import time

from bench.common import arguments, start_stack, wait_for
from bench.figures import Figure, finish
from services.sync.quotas import USAGE_PLANS

#: Amazon-time seconds a worker thread may sleep for a quota token (production: 5 s of real time).
MAX_WAIT_AMAZON_SECONDS = 5.0
DEFAULTS = dict(orders=4000, skus=100, scale=100.0)
SIZES = {"smoke": dict(orders=2200, skus=5, scale=1000.0), "full": dict(orders=10_000, skus=200)}
SELLER = "bench-large-us"


def ideal_seconds(calls: dict[str, int], scale: float) -> dict[str, float]:
    return {
        op: max(0, n - USAGE_PLANS[op].burst) / (USAGE_PLANS[op].rate * scale)
        for op, n in calls.items()
        if op in USAGE_PLANS
    }


def run_job(orders: int, skus: int, scale: float) -> tuple[object, float, dict]:
    """One user with the large seller, synced by one worker thread: its record, the seconds from
    enqueue to finish, and the sandbox's counters of the seller."""
    import dramatiq

    waits = {
        "SP_API_QUOTA_MAX_WAIT_SECONDS": str(MAX_WAIT_AMAZON_SECONDS / scale),
        "JOB_TIME_LIMIT_SECONDS": "3600",
    }
    with start_stack(time_scale=scale, settings=waits) as stack:
        import actors
        from services.operations.accounts import connect_account, create_user
        from services.operations.demo import sandbox_token
        from services.platform.settings import get_settings

        stack.sandbox.state.set_profile(SELLER, {"orders": orders, "skus": skus, "days": 29})
        # Its orders generated up front, not during the timed job.
        stack.sandbox.state.sellers.orders(SELLER, "ATVPDKIKX0DER", stack.sandbox.state.now())
        create_user("u-bench")
        connect_account("u-bench", "US", sandbox_token(SELLER), seller_id=SELLER, settings=get_settings())
        worker = dramatiq.Worker(actors.broker, worker_threads=1, worker_timeout=20)
        worker.start()
        try:
            started = time.monotonic()
            job_id = actors.producer(get_settings()).enqueue_user("u-bench").job_id
            wait_for(
                lambda: _finished(job_id) is not None, 3600, interval=0.01, what="the large seller's job"
            )
            measured = time.monotonic() - started
            worker.join()  # let the last delivery finish its bookkeeping before the worker stops
        finally:
            worker.stop()
        return _finished(job_id), measured, stack.sandbox.state.get_stats()[SELLER]


def _finished(job_id: str):
    """The job's record once it has finished, else None."""
    from models import JobStatus

    record = JobStatus.objects(job_id=job_id).first()
    return record if record is not None and record.status in ("completed", "failed", "cancelled") else None


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.spapi", __doc__, DEFAULTS, SIZES)
    record, measured, stats = run_job(args.orders, args.skus, args.scale)
    calls = {op: counts["served"] for op, counts in stats.items() if op in USAGE_PLANS}
    figures = report(args, record, measured, stats, calls)
    finish(
        figures, {"calls": calls, "ideal": ideal_seconds(calls, args.scale), "measured": measured}, args.json
    )
    return 0 if record.status == "completed" else 1


def report(args, record, measured: float, stats: dict, calls: dict[str, int]) -> list[Figure]:
    """Print each operation's calls and ideal; the figure of quota fidelity."""
    ideal = ideal_seconds(calls, args.scale)
    total, bound = sum(ideal.values()), max(ideal.values())
    print(f"seller: {args.orders} orders, {args.skus} SKUs; time scale {args.scale:g}")
    print(f"job: {record.status}, {record.attempts} deliveries (quota waits hand the job back)")
    for op, seconds in ideal.items():
        plan = USAGE_PLANS[op]
        print(f"  {op:<22} {calls[op]:>5} served {stats[op]['throttled']:>3} throttled "
              f"(burst {plan.burst}, {plan.rate}/s): ideal {seconds:7.2f} s")  # fmt: skip
    print(f"ideal (operations in sequence, as fetched): {total:7.2f} s")
    print(f"ideal (operations concurrently, bound):    {bound:7.2f} s")
    print(f"measured job duration (enqueue to done):   {measured:7.2f} s")
    print(f"ideal / measured: {total / measured:.3f} (sequence), {bound / measured:.3f} (concurrent bound)")
    name = f"quota fidelity, ideal/measured ({args.orders:,} orders, {args.skus} SKUs, scale {args.scale:g})"
    note = f"ideal {total:.2f} s, measured {measured:.2f} s, job {record.status}"
    return [Figure("spapi", name, total / measured, target="≥ 0.9", note=note).check()]


if __name__ == "__main__":
    sys.exit(main())
