"""A new seller's first numbers: how long after connecting, while a wave of scheduled syncs runs.

    python -m bench.first_look [--users 120] [--latency-ms 300] [--big-orders 10000]

The Procfile's ``web`` and ``worker`` (1 process × 3 threads) and the scheduler's tick on loopback,
the sandbox at Amazon's own quotas; the wave's sellers answer every call after ``--latency-ms``.
After a warm-up sync (the wave's next sync is an hourly one), three runs of the wave, each started by
one tick (README, A new seller's first numbers): alone (the baseline of the wave's duration); lanes
(``--delay`` s in, a typical and a ``--big-orders`` seller connect through the REST routes: seconds
from the account PUT's answer to their analysis in the cache); before (the typical seller's first
sync queued in the standard lane, as before the lanes). The big seller's baseline is the quota
arithmetic of its backfill. Targets: 15 s, 60 s, the wave at most 10 % longer.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from bench.common import Stack, arguments, process_env, seed_users, start_stack, wait_for
from bench.figures import Figure, finish
from bench.workers import LOGS, Workers, wait_synced

DEFAULTS = dict(users=120, latency_ms=300, delay=5.0, big_orders=10_000)
SIZES = {"smoke": dict(users=6, big_orders=600, delay=1.0), "full": dict(users=1000)}
#: What each run may take at most, in seconds (a stuck run fails instead of hanging the benchmark).
RUN_TIMEOUT = 1800


@dataclass
class Run:
    name: str
    wave_seconds: float = 0.0
    #: Seller label -> seconds from its connection to its analysis in the cache; whether a first look.
    first_analysis: dict[str, float] = field(default_factory=dict)
    first_look: dict[str, bool] = field(default_factory=dict)


class Topology:
    """The Procfile's web and worker on the stack, and the scheduler's tick on demand."""

    def __init__(self, stack: Stack) -> None:
        from embedded.ports import free_port
        from embedded.processes import Supervisor
        from embedded.procfile import read_procfile

        self.stack = stack
        self.port = free_port()
        LOGS.mkdir(exist_ok=True)
        self._log = (LOGS / "first-look-web.log").open("w")
        env = process_env(stack, PORT=str(self.port), WEB_CONCURRENCY="1")
        self.supervisor = Supervisor(env, out=self._log)
        self.supervisor.start("web", read_procfile()["web"])
        self.workers = Workers(stack, "ours", processes=1, threads=3)
        wait_for(self._web_ready, timeout=60, what="the web process")

    def _web_ready(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def tick(self) -> None:
        """One tick of the Procfile's scheduler: every due user enqueued in the standard lane."""
        status = self.supervisor.run_once("scheduler", "python -m cron.scheduler --once", timeout=600)
        if status != 0:
            raise RuntimeError(f"the scheduler's tick exited {status}")

    def tick_and_wait(self, wave: list[str], since: datetime, what: str) -> None:
        """A tick, then wait until every user of ``wave`` synced after ``since``."""
        self.tick()
        wait_synced(wave, since, what, RUN_TIMEOUT, interval=0.1)

    def put(self, path: str, body: dict | None = None, method: str = "PUT") -> None:
        token = self.stack.env["API_TOKENS"]
        answer = requests.request(
            method, f"http://127.0.0.1:{self.port}{path}", json=body, timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        answer.raise_for_status()

    def stop(self) -> None:
        self.workers.stop()
        self.supervisor.stop(timeout=20)
        self._log.close()


def connect_through_rest(topology: Topology, user_id: str, seller: str) -> float:
    """Create the user and connect its US account through the REST routes; the moment of the answer."""
    topology.put(f"/app/users/{user_id}", {"email": f"{user_id}@example.com", "syncEnabled": True})
    topology.put(
        f"/app/users/{user_id}/accounts/US", {"sellerId": seller, "refreshToken": f"Atzr|sandbox-{seller}"}
    )
    return time.monotonic()


def connect_behind_the_wave(user_id: str, seller: str) -> float:
    """The same seller, its first sync queued in the standard lane, as every job was before the lanes."""
    import actors
    from services.operations.accounts import connect_account, create_user
    from services.platform.settings import get_settings

    settings = get_settings()
    create_user(user_id, email=f"{user_id}@example.com")
    connect_account(user_id, "US", f"Atzr|sandbox-{seller}", seller_id=seller, settings=settings)
    actors.producer(settings).enqueue_user(user_id, "schedule")
    return time.monotonic()


def time_to_analysis(user_id: str, connected_at: float, timeout: float) -> tuple[float, bool]:
    """Seconds from ``connected_at`` until the user's US analysis is cached; whether it is a first look."""
    from services.platform.settings import get_settings
    from services.sync.cache import read_analysis

    found: dict = {}

    def cached() -> bool:
        found["analysis"] = read_analysis(user_id, "US", settings=get_settings())
        return found["analysis"] is not None

    wait_for(cached, timeout=timeout, interval=0.05, what=f"the analysis of {user_id}")
    return time.monotonic() - connected_at, found["analysis"].get("complete") is False


def run_wave(topology: Topology, wave: list[str], name: str, arrivals, delay: float) -> Run:
    """Make the wave due, tick, let ``arrivals`` (label -> connect()) arrive ``delay`` s in; time it all."""
    from models import User

    User.objects(user_id__in=wave).update(set__last_synced_at=datetime.now(UTC) - timedelta(hours=2))
    run = Run(name)
    since = datetime.now(UTC)
    started = time.monotonic()
    timers = []

    def arrive(label: str, connect) -> None:
        time.sleep(max(0.0, started + delay - time.monotonic()))
        user_id, connected_at = connect()
        run.first_analysis[label], run.first_look[label] = time_to_analysis(
            user_id, connected_at, RUN_TIMEOUT
        )

    for label, connect in arrivals.items():
        timers.append(threading.Thread(target=arrive, args=(label, connect), daemon=True))
        timers[-1].start()
    topology.tick_and_wait(wave, since, f"the wave of run {name}")
    run.wave_seconds = time.monotonic() - started
    for timer in timers:
        timer.join(RUN_TIMEOUT)
    print(f"  {name}: wave {run.wave_seconds:.1f} s; first analysis {run.first_analysis}", flush=True)
    return run


def measure(users: int, latency_ms: int, delay: float, big_orders: int) -> tuple[Run, Run, Run]:
    """The three runs of the wave (alone, with the lanes, as before them) on the production topology."""
    with start_stack(time_scale=1.0, settings={"SCHEDULER_BATCH_SIZE": "500"}) as stack:
        wave = [f"wave-{index:05d}" for index in range(users)]
        sellers = seed_users(stack, wave, profile=lambda rng: {"orders": rng.randint(20, 150), "skus": 5})
        stack.sandbox.state.set_profile("first-big-us", {"orders": big_orders, "skus": 25})
        topology = Topology(stack)
        try:
            topology.tick_and_wait(wave, datetime.now(UTC), "the warm-up sync")
            for seller in sellers:
                stack.sandbox.state.set_faults(seller, [{"latencyMs": latency_ms}])
            return three_runs(topology, wave, delay)
        finally:
            topology.stop()


def three_runs(topology: Topology, wave: list[str], delay: float) -> tuple[Run, Run, Run]:
    def through_rest(user_id: str, seller: str):
        return lambda: (user_id, connect_through_rest(topology, user_id, seller))

    alone = run_wave(topology, wave, "alone", {}, delay)
    arrivals = {"typical": through_rest("first-typical", "first-typical-us")}
    lanes = run_wave(
        topology, wave, "lanes", {**arrivals, "big": through_rest("first-big", "first-big-us")}, delay
    )
    # The big seller's backfill goes on for an hour: stop it, so that it does not load the next run.
    topology.put("/app/users/first-big/accounts/US", method="DELETE")
    behind = lambda: ("before-typical", connect_behind_the_wave("before-typical", "first-typical-us"))  # noqa: E731
    before = run_wave(topology, wave, "before", {"typical": behind}, delay)
    return alone, lanes, before


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.first_look", __doc__, DEFAULTS, SIZES)
    runs = measure(args.users, args.latency_ms, args.delay, args.big_orders)
    details = {"users": args.users, "latencyMs": args.latency_ms, "bigOrders": args.big_orders,
               "runs": {run.name: vars(run) for run in runs}}  # fmt: skip
    return finish(figures_of(*runs, args.big_orders), details, args.json)


def figures_of(alone: Run, lanes: Run, before: Run, big_orders: int) -> list[Figure]:
    """The typical seller against its wait behind the wave, the big one against its backfill's
    arithmetic (20 pages at once, then one page of 100 a minute), the wave against itself alone."""
    typical, big = lanes.first_analysis["typical"], lanes.first_analysis["big"]
    waited, wave, alone_s = before.first_analysis["typical"], lanes.wave_seconds, alone.wave_seconds
    backfill = max(0, math.ceil(big_orders / 100) - 20) * 60.0
    return [
        Figure("first_look", "typical seller: connect → analysis", typical, "s", waited,
               target="≤ 15", note="baseline: queued behind the wave").check(typical),
        Figure("first_look", f"{big_orders:,}-order seller: connect → first look", big, "s", backfill,
               target="≤ 60", note="baseline: its backfill at Amazon's quotas (arithmetic)").check(big),
        Figure("first_look", "wave duration with the two sellers", wave, "s", alone_s,
               target="≤ 1.10", note="baseline: the wave alone").check(),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
