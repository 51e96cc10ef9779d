"""One large seller through a real job, against the sandbox at Amazon's rates, time scaled.

    python -m bench.spapi [--orders 10000] [--skus 200] [--scale 100]

Not a test: it prints the measured job duration beside the ideal one. Everything is local: an
embedded redis-server (or REDIS_URL), the in-process sandbox with ``--scale`` (quotas refill that
many times faster than Amazon's), mongomock, one dramatiq worker thread. Our quota buckets use the
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

mongomock checks unique indexes by scanning the collection on every write (quadratic in orders);
the orders' unique index is dropped for the run, as MongoDB would use it instead of scanning.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from cryptography.fernet import Fernet

from services.quotas import USAGE_PLANS

#: Amazon-time seconds a worker thread may sleep for a quota token (production: 5 s of real time).
MAX_WAIT_AMAZON_SECONDS = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.spapi", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders of the seller (max 10000)")
    parser.add_argument("--skus", type=int, default=200, help="SKUs of the seller (velocity calls)")
    parser.add_argument("--scale", type=float, default=100.0, help="time scale of quotas (default 100)")
    return parser.parse_args(argv)


def ideal_seconds(calls: dict[str, int], scale: float) -> dict[str, float]:
    return {
        op: max(0, n - USAGE_PLANS[op].burst) / (USAGE_PLANS[op].rate * scale)
        for op, n in calls.items()
        if op in USAGE_PLANS
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from embedded.redis_server import start_embedded_redis
    from sandbox.config import SandboxConfig
    from sandbox.server import start_sandbox
    from services.settings import Settings, configure

    redis_url, embedded = os.environ.get("REDIS_URL"), None
    if not redis_url:
        embedded = start_embedded_redis()
        redis_url = embedded.url
    sandbox = start_sandbox(config=SandboxConfig(time_scale=args.scale))
    configure(
        Settings.from_env(
            {
                "REDIS_URL": redis_url,
                "REDIS_NAMESPACE": f"sellersync-bench-{os.getpid()}",
                "FERNET_KEY": Fernet.generate_key().decode(),
                "SP_API_ENDPOINT": sandbox.url,
                "SP_API_LWA_ENDPOINT": sandbox.url,
                "SP_API_QUOTA_TIME_SCALE": str(args.scale),
                "SP_API_QUOTA_MAX_WAIT_SECONDS": str(MAX_WAIT_AMAZON_SECONDS / args.scale),
                "JOB_TIME_LIMIT_SECONDS": "3600",
            },
            dotenv_path=None,
        )
    )
    import dramatiq

    import actors
    from models import JobStatus, Order
    from services import jobs
    from services.accounts import connect_account, create_user
    from services.demo import sandbox_token

    collection = Order._get_collection()
    for name, spec in collection.index_information().items():
        if spec.get("unique"):
            collection.drop_index(name)
    seller = "bench-large-us"
    sandbox.state.set_profile(seller, {"orders": args.orders, "skus": args.skus, "days": 29})
    sandbox.state.sellers.orders(seller, "ATVPDKIKX0DER", sandbox.state.now())  # generate it up front
    create_user("u-bench")
    connect_account("u-bench", "US", sandbox_token(seller), seller_id=seller)

    worker = dramatiq.Worker(actors.broker, worker_threads=1, worker_timeout=20)
    worker.start()
    try:
        started = time.monotonic()
        job_id = jobs.enqueue_user("u-bench").job_id
        while True:
            record = JobStatus.objects(job_id=job_id).first()
            if record is not None and record.status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.01)
        measured = time.monotonic() - started
        worker.join()  # let the last delivery finish its bookkeeping before the worker stops
    finally:
        worker.stop()
        sandbox.stop()
        if embedded is not None:
            embedded.stop()

    stats = sandbox.state.get_stats()[seller]
    calls = {op: counts["served"] for op, counts in stats.items() if op in USAGE_PLANS}
    ideal = ideal_seconds(calls, args.scale)
    total, bound = sum(ideal.values()), max(ideal.values())
    print(f"seller: {args.orders} orders, {args.skus} SKUs; time scale {args.scale:g}")
    print(f"job: {record.status}, {record.attempts} deliveries (quota waits hand the job back)")
    for op, seconds in ideal.items():
        plan = USAGE_PLANS[op]
        print(
            f"  {op:<22} {calls[op]:>5} served {stats[op]['throttled']:>3} throttled "
            f"(burst {plan.burst}, {plan.rate}/s): ideal {seconds:7.2f} s"
        )
    print(f"ideal (operations in sequence, as fetched): {total:7.2f} s")
    print(f"ideal (operations concurrently, bound):    {bound:7.2f} s")
    print(f"measured job duration (enqueue to done):   {measured:7.2f} s")
    print(f"ideal / measured: {total / measured:.3f} (sequence), {bound / measured:.3f} (concurrent bound)")
    return 0 if record.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
