"""Drain efficiency: users whose SP-API calls each take a fixed latency, through real worker processes.

    python -m bench.drain [--users 60] [--latency-ms 200] [--configs 1x10,2x10] [--rounds 2]

Each seller answers every SP-API call after ``--latency-ms`` (a sandbox latency fault; Amazon's
calls take 100-500 ms), and has a small profile (20 orders, 2 SKUs: 4-5 calls a job), so a job is
I/O-bound, as in production. For each configuration P×T (worker processes × threads), the queue
is filled with one job per fresh user and drained by:

- ours: the Procfile's ``worker`` process (``dramatiq actors``), fed by ``enqueue_users``;
- the baseline: ``bench.bare`` (stock Dramatiq, the same SP-API calls and data writes) at the same
  P×T, fed by a plain ``send()`` loop.

Ideal time = SP-API calls served (from the sandbox's counters) × latency / (P × T): what perfect
workers would take. The figure is measured / ideal (target ≤ 1.10); the baseline's is beside it.
Rounds alternate ours and the baseline. The time runs from the first send to the last user's
``last_synced_at``; worker boot is not timed.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from bench.common import CpuMeter, Stack, alternate, arguments, median, seed_users, start_stack, wait_for
from bench.figures import Figure, finish
from bench.workers import Workers, send_bare, synced_since

TARGET = "≤ 1.10"
#: Every seller of the drain: 4-5 calls a job (getOrders, getOrderMetrics, getInventorySummaries and a
#: velocity getOrderMetrics per in-stock SKU).
PROFILE = {"orders": 20, "skus": 2, "days": 30}
DEFAULTS = dict(users=60, latency_ms=200, configs="1x10,2x10", rounds=2)
SIZES = {"smoke": dict(users=4, latency_ms=50, configs="1x2", rounds=1), "full": dict(users=300, rounds=3)}
HELPS = dict(
    users="jobs per round (one user each)",
    latency_ms="latency of every call",
    configs="processes x threads, comma-separated",
    rounds="alternating rounds",
)


def configs(text: str) -> list[tuple[int, int]]:
    return [tuple(int(n) for n in part.split("x")) for part in text.split(",")]  # type: ignore[misc]


def run(
    users: int = 60, latency_ms: int = 200, rounds: int = 2, configs_text: str = "1x10,2x10"
) -> list[Figure]:
    figures: list[Figure] = []
    with start_stack(time_scale=1000.0) as stack:
        for processes, threads in configs(configs_text):
            figures.append(drain_config(stack, processes, threads, users, latency_ms, rounds))
    return figures


def drain_config(
    stack: Stack, processes: int, threads: int, users: int, latency_ms: int, rounds: int
) -> Figure:
    """Rounds of ours and the baseline at P×T, alternating; the figure of their median ratios."""
    label = f"{processes}x{threads}"
    ratios: dict[str, list[float]] = {"ours": [], "bare": []}
    seconds: dict[str, list[float]] = {"ours": [], "bare": []}
    workers = {kind: Workers(stack, kind, processes, threads) for kind in ("ours", "bare")}
    try:

        def one(kind: str, index: int) -> None:
            user_ids = [f"drain-{label}-{kind}-{index}-{n:04d}" for n in range(users)]
            measured, ideal = drain_once(
                stack, workers[kind], user_ids, latency_ms, f"{label} {kind:<4} round {index + 1}"
            )
            ratios[kind].append(measured / ideal)
            seconds[kind].append(measured)

        alternate(rounds, lambda i: one("ours", i), lambda i: one("bare", i))
    finally:
        for running in workers.values():
            running.stop()
    ours_ratio, bare_ratio = median(ratios["ours"]), median(ratios["bare"])
    return Figure(
        "drain",
        f"{label} measured/ideal ({users} jobs × ~{latency_ms} ms calls)",
        ours_ratio,
        baseline=bare_ratio,
        target=TARGET,
        note=f"median seconds: ours {median(seconds['ours']):.2f}, bare {median(seconds['bare']):.2f}",
    ).check(ours_ratio)


def drain_once(
    stack: Stack, workers: Workers, user_ids: list[str], latency_ms: int, label: str
) -> tuple[float, float]:
    """Seed ``user_ids``, send a job each to ``workers``, wait until all synced: measured, ideal seconds."""
    import actors
    from services.platform.settings import get_settings

    sellers = seed_users(
        stack, user_ids, profile=lambda rng: dict(PROFILE), faults=[{"latencyMs": latency_ms}]
    )
    count = synced_since(user_ids, datetime.now(UTC))
    producer = actors.producer(get_settings()) if workers.kind == "ours" else None
    meter = CpuMeter(stack, {"workers": workers.pids}).start()
    started = time.monotonic()
    if producer is not None:
        producer.enqueue_users(user_ids, "manual")
    else:
        send_bare(stack, user_ids)
    wait_for(lambda: count() >= len(user_ids), timeout=600, interval=0.05, what=f"{label} drain")
    measured = time.monotonic() - started
    meter.stop()
    calls = served_calls(stack, sellers)
    ideal = calls * latency_ms / 1000 / (workers.processes * workers.threads)
    print(
        f"  drain {label}: {len(user_ids)} jobs, {calls} SP-API calls, measured {measured:6.2f} s, "
        f"ideal {ideal:6.2f} s, ratio {measured / ideal:.3f}; CPU (share of a core): {meter.line()}",
        flush=True,
    )
    return measured, ideal


def served_calls(stack: Stack, sellers: list[str]) -> int:
    from services.sync.quotas import USAGE_PLANS

    stats = stack.sandbox.state.get_stats()
    return sum(
        counts["served"]
        for seller in sellers
        for operation, counts in stats.get(seller, {}).items()
        if operation in USAGE_PLANS
    )


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.drain", __doc__, DEFAULTS, SIZES, HELPS)
    figures = run(args.users, args.latency_ms, args.rounds, args.configs)
    return finish(figures, {"users": args.users, "latencyMs": args.latency_ms}, args.json)


if __name__ == "__main__":
    sys.exit(main())
