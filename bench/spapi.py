"""One large seller through a real job, against the sandbox at Amazon's rates, time scaled.

    python -m bench.spapi [--orders 10000] [--skus 200] [--scale 100]

It prints the measured job duration beside the ideal one. Everything is on loopback: an embedded
redis-server and document server, the in-process sandbox with ``--scale`` (quotas refill that many
times faster than Amazon's), one dramatiq worker thread. Our quota buckets use the
same scale, and SP_API_QUOTA_MAX_WAIT_SECONDS is 5 s of *Amazon* time (5 / scale of real time), so
the job behaves as in production: every getOrders page after the burst (one token a minute at
Amazon) hands the job back to the broker and comes back when the token is due; getOrderMetrics
tokens (every 2 s at Amazon) are slept for.

Ideal duration: each operation needs ``calls`` requests; a full bucket serves ``burst`` at once and
the rest arrive one per ``1 / rate``: ``max(0, calls - burst) / (rate * scale)``. Our fetch runs the
operations one after the other, so its ideal is the *sum* over operations (the figure the target
ideal / measured >= 0.9 refers to); the *max* is the bound for a client that ran the operations of
one account concurrently, printed too. ``calls`` are the requests the sandbox served: the pages
needed, nothing retried (the benchmark also prints the 429s, which should be 0).
"""

from __future__ import annotations

import sys
import time

from bench.common import arguments, start_stack, wait_for
from bench.figures import Figure, finish
from services.sync.quotas import USAGE_PLANS

#: Amazon-time seconds a worker thread may sleep for a quota token (production: 5 s of real time).
MAX_WAIT_AMAZON_SECONDS = 5.0
#: Quota fidelity: ideal / measured job duration.
TARGET = "≥ 0.9"
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
                lambda: _finished(job_id) is not None,
                timeout=3600,
                interval=0.01,
                what="the large seller's job",
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
    figure = Figure(
        "spapi",
        f"quota fidelity, ideal/measured ({args.orders:,} orders, {args.skus} SKUs, scale {args.scale:g})",
        total / measured,
        target=TARGET,
        note=f"ideal {total:.2f} s, measured {measured:.2f} s, job {record.status}",
    ).check()
    finish([figure], {"calls": calls, "ideal": ideal, "measured": measured}, args.json)
    return 0 if record.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
