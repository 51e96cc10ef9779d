"""Requests per second of the API beside a bare Falcon endpoint, both under the same gunicorn.

    python -m bench.web [--seconds 5] [--connections 16] [--workers 2] [--threads 4]

On loopback, two gunicorns with identical flags (``bench.web_apps``) are loaded one after the other
by a few processes holding keep-alive connections, each run bounded by ``--seconds`` and
``--max-requests``: the bare app first and last (the mean is the baseline), the API between.
``GET /queue/stats`` (auth, the Redis snapshot and its recompute when stale) is held to the bare
``GET /hello``; ``GET /status/job/{id}`` (a lookup among 1,000 job records) to the bare ``find_one``
of the same record on the same server, and, untargeted, to ``GET /hello``.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import requests

from bench.common import ROOT, arguments, process_env, start_stack, wait_for
from bench.figures import Figure, finish
from embedded.lifeline import start_tied, stop_process
from embedded.ports import free_port

# One gunicorn worker by default: with several, the kernel may hand every keep-alive connection of the
# fast bare app to one worker (seen: 2 workers served it no faster than 1) while the API's spread over
# all, which made the API look faster than the baseline. One worker compares like with like.
DEFAULTS = dict(seconds=5.0, warmup=1.0, connections=16, client_processes=2, max_requests=200_000, workers=1,
                threads=4)  # fmt: skip
SIZES = {"smoke": dict(seconds=0.5, warmup=0.2, connections=4), "full": dict(seconds=10.0)}
STATUS = "/app/job-status/status/job/"


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        lat = sorted(self.latencies_ms) or [0.0]
        p50, p99 = statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"{self.name:<38} {self.rps:>8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"({self.requests} ok, {self.errors} errors)"
        )


# -- load generator --------------------------------------------------------------------------------
def _connection(port: int, paths: list[str], headers, start: float, end: float, cap: int, offset: int):
    """One keep-alive connection's requests until ``end`` or ``cap``: ok, errors, latencies (ms) after
    ``start`` (the warm-up is not counted)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ok, errors, latencies, index = 0, 0, [], offset
    while (now := time.monotonic()) < end and ok + errors < cap:
        path, index = paths[index % len(paths)], index + 1
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            good = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            good = False
        done = time.monotonic()
        if now >= start and good:
            ok += 1
            latencies.append((done - now) * 1000)
        elif now >= start:
            errors += 1
    connection.close()
    return ok, errors, latencies


def _client_process(port, paths, headers, threads, warmup, seconds, cap, queue) -> None:
    start = time.monotonic() + warmup
    outcomes: list[tuple] = []
    run = lambda i: outcomes.append(_connection(port, paths, headers, start, start + seconds, cap, i * 7919))  # noqa: E731
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ok, errors = sum(o[0] for o in outcomes), sum(o[1] for o in outcomes)
    queue.put((ok, errors, [ms for o in outcomes for ms in o[2]][:20_000]))


def load(name: str, port: int, paths: list[str], headers: dict[str, str], args) -> Result:
    """``args.connections`` keep-alive connections from ``args.client_processes`` processes."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    threads = max(1, args.connections // args.client_processes)
    cap = max(1, args.max_requests // args.client_processes)
    options = (port, paths, headers, threads, args.warmup, args.seconds, cap, queue)
    jobs = [
        multiprocessing.Process(target=_client_process, args=options) for _ in range(args.client_processes)
    ]
    for job in jobs:
        job.start()
    outcomes = [queue.get(timeout=args.warmup + args.seconds + 60) for _ in jobs]
    for job in jobs:
        job.join(timeout=10)
    latencies = [ms for _, _, lat in outcomes for ms in lat]
    return Result(name, sum(o[0] for o in outcomes), sum(o[1] for o in outcomes), args.seconds, latencies)


# -- gunicorn --------------------------------------------------------------------------------------
def serve(
    app: str, env: dict[str, str], args, runs: list[tuple[str, list[str], dict]], first: str = ""
) -> list[Result]:
    """Start gunicorn on ``app``, ask ``first`` once (untimed), put each of ``runs`` (name, paths,
    headers) under load, stop it."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers",
               str(args.workers), "--threads", str(args.threads), "--worker-class", "gthread",
               "--keep-alive", "5", "--log-level", "warning"]  # fmt: skip
    print(f"gunicorn {' '.join(command[3:])}")
    process = start_tied(command, death_signal=signal.SIGTERM, cwd=ROOT, env=env)
    try:
        wait_for(lambda: _answers(process, port), timeout=60, interval=0.1, what="gunicorn to answer")
        answer = (
            requests.get(f"http://127.0.0.1:{port}{first}", headers=runs[0][2], timeout=30) if first else None
        )
        if answer is not None and answer.status_code != 200:
            raise SystemExit(f"{first} answered {answer.status_code}: {answer.content[:200]!r}")
        return [load(name, port, paths, headers, args) for name, paths, headers in runs]
    finally:
        stop_process(process, timeout=15)  # a gunicorn that never answered must not outlive the benchmark


def _answers(process, port: int) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"gunicorn exited with {process.returncode}")
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=2) is not None
    except requests.RequestException:
        return False


# -- the run ---------------------------------------------------------------------------------------
def seed_jobs(count: int) -> list[str]:
    """Job records in the MONGODB_URI database, as workers leave them."""
    from datetime import UTC, datetime, timedelta

    from models import AccountResult, JobStatus

    now = datetime.now(UTC)
    account = AccountResult(account_id="a", marketplace_id="ATVPDKIKX0DER", region="na", country="US")
    records = [
        JobStatus(
            job_id=str(uuid.uuid4()), user_id=f"bench-{index:05d}", status="completed", trigger="schedule",
            attempts=1, queued_at=now - timedelta(minutes=index), started_at=now - timedelta(minutes=index),
            completed_at=now, updated_at=now, expires_at=now + timedelta(days=1), duration_ms=1200,
            accounts=[account],
        ).to_mongo()
        for index in range(count)
    ]  # fmt: skip
    JobStatus._get_collection().insert_many(records)
    return [r["job_id"] for r in records]


def measure(args) -> list[Result]:
    """The baselines, the API, the baselines again, on the stack's servers (the sandbox is never called:
    it stands for the SP-API endpoint every process of ours requires)."""
    with start_stack(time_scale=1000.0) as stack:
        env = process_env(stack)
        auth = {"Authorization": f"Bearer {env['API_TOKENS']}"}
        job_ids = seed_jobs(1000)

        def bare(when: str) -> list[Result]:
            return serve("bench.web_apps:bare_app()", env, args, [
                (f"GET /hello (bare Falcon, {when})", ["/hello"], {}),
                (f"GET /job/{{id}} (bare find_one, {when})", [f"/job/{j}" for j in job_ids], {}),
            ])  # fmt: skip

        first = bare("first")
        api = serve("bench.web_apps:sellersync_app()", env, args, [
            ("GET /queue/stats", ["/app/job-status/queue/stats"], auth),
            ("GET /status/job/{id}", [STATUS + j for j in job_ids], auth),
        ], first="/app/job-status/queue/stats")  # fmt: skip
        return [*first, *api, *bare("last")]


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.web", __doc__, DEFAULTS, SIZES)
    if not 0 < args.seconds <= 60 or args.connections > 256:
        raise SystemExit("--seconds must be in (0, 60] and --connections at most 256")
    print("Store: the embedded document server (SecantusDB)")
    print(f"Load: {args.connections} keep-alive connections from {args.client_processes} processes, "
          f"{args.warmup:g} s warm-up + {args.seconds:g} s per endpoint, "
          f"on {os.cpu_count()} CPUs shared with the servers.")  # fmt: skip
    runs = measure(args)
    return finish(report(runs), {"results": [r.line() for r in runs]}, args.json)


def report(runs: list[Result]) -> list[Figure]:
    """Print every run; the API's figures against the mean of each baseline's two runs."""
    hello_first, found_first, stats, by_id, hello_last, found_last = runs
    hello, found = (hello_first.rps + hello_last.rps) / 2, (found_first.rps + found_last.rps) / 2
    print("\n" + "\n".join(result.line() for result in runs))
    print(f"\nBaselines (mean of two runs each): hello {hello:.0f} req/s, find_one {found:.0f} req/s")

    def compare(result: Result, baseline: float, against: str, target: str = "≥ 0.5") -> Figure:
        name = f"{result.name} vs {against} (req/s)"
        return Figure(
            "web", name, result.rps, "req/s", baseline, target=target, note=f"{result.errors} errors"
        )

    return [
        compare(stats, hello, "bare Falcon hello").check(),
        compare(by_id, found, "bare Falcon find_one (same work)").check(),
        compare(by_id, hello, "bare Falcon hello", target="").check(),
    ]


if __name__ == "__main__":
    sys.exit(main())
