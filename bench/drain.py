"""Drain efficiency: users whose SP-API calls each take a fixed latency, through real worker processes.

    python -m bench.drain [--users 60] [--latency-ms 200] [--configs 1x10,2x10] [--rounds 2]

Each seller (20 orders, 2 SKUs: 4-5 calls a job) answers every call after ``--latency-ms``. At each
P×T (processes × threads), rounds alternate: one job per fresh user drained by ours (the Procfile's
``worker``, fed by ``enqueue_users``), then by ``bench.bare`` (stock Dramatiq, the same SP-API calls
and writes, fed by a plain ``send()`` loop). Ideal time = SP-API calls served × latency / (P × T);
the figure is measured / ideal from the first send to the last ``last_synced_at`` (target ≤ 1.10).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from statistics import median

from bench.common import CpuMeter, Stack, arguments, seed_users, start_stack
from bench.figures import Figure, finish
from bench.workers import Workers, sender, wait_synced

DEFAULTS = dict(users=60, latency_ms=200, configs="1x10,2x10", rounds=2)
SIZES = {"smoke": dict(users=4, latency_ms=50, configs="1x2", rounds=1), "full": dict(users=300, rounds=3)}


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.drain", __doc__, DEFAULTS, SIZES)
    with start_stack(time_scale=1000.0) as stack:
        figures = [drain_config(stack, part, args) for part in args.configs.split(",")]
    return finish(figures, {"users": args.users, "latencyMs": args.latency_ms}, args.json)


def drain_config(stack: Stack, label: str, args) -> Figure:
    """Rounds of ours and the baseline at ``label`` (PxT), alternating; the figure of their median ratios."""
    processes, threads = (int(n) for n in label.split("x"))
    seconds: dict[str, list[float]] = {"ours": [], "bare": []}
    ratios: dict[str, list[float]] = {"ours": [], "bare": []}
    workers = {kind: Workers(stack, kind, processes, threads) for kind in ("ours", "bare")}
    try:
        for index, kind in ((i, k) for i in range(args.rounds) for k in ("ours", "bare")):
            user_ids = [f"drain-{label}-{kind}-{index}-{n:04d}" for n in range(args.users)]
            name = f"{label} {kind:<4} round {index + 1}"
            measured, ideal = drain_once(stack, workers[kind], user_ids, args.latency_ms, name)
            seconds[kind].append(measured)
            ratios[kind].append(measured / ideal)
    finally:
        for running in workers.values():
            running.stop()
    ours, bare = median(ratios["ours"]), median(ratios["bare"])
    return Figure(
        "drain", f"{label} measured/ideal ({args.users} jobs × ~{args.latency_ms} ms calls)", ours,
        baseline=bare, target="≤ 1.10",
        note=f"median seconds: ours {median(seconds['ours']):.2f}, bare {median(seconds['bare']):.2f}",
    ).check(ours)  # fmt: skip


def drain_once(
    stack: Stack, workers: Workers, user_ids: list[str], latency_ms: int, label: str
) -> tuple[float, float]:
    """Seed ``user_ids``, send a job each to ``workers``, wait until all synced: measured, ideal seconds."""
    sellers = seed_users(stack, user_ids, faults=[{"latencyMs": latency_ms}])
    since = datetime.now(UTC)
    send = sender(stack, workers.kind)
    meter = CpuMeter(stack, {"workers": workers.pids}).start()
    started = time.monotonic()
    send(user_ids)
    wait_synced(user_ids, since, f"{label} drain", timeout=600)
    measured = time.monotonic() - started
    meter.stop()
    calls = served_calls(stack, sellers)
    ideal = calls * latency_ms / 1000 / (workers.processes * workers.threads)
    per_job_ms = meter.used["workers"] / len(user_ids) * 1000
    print(
        f"  drain {label}: {len(user_ids)} jobs, {calls} SP-API calls, measured {measured:6.2f} s, "
        f"ideal {ideal:6.2f} s, ratio {measured / ideal:.3f}; CPU (share of a core): {meter.line()}; "
        f"worker CPU per job {per_job_ms:.1f} ms",
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


if __name__ == "__main__":
    sys.exit(main())
