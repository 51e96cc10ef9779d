"""Requests per second of the API beside a bare Falcon endpoint, both under the same gunicorn.

    python -m bench.web [--seconds 5] [--connections 16] [--workers 2] [--threads 4]

It prints figures. Everything runs on loopback: an embedded redis-server and document server, two
gunicorns started one after the other with identical flags, and a load generator of a few processes
holding keep-alive connections. Each run is bounded in time (``--seconds`` per endpoint)
and in count (``--max-requests``), then stops by itself.

What is measured, honestly (each baseline first and last, around the API; the mean is used):
- ``GET /app/job-status/queue/stats``: auth, the shared snapshot read from the real Redis, JSON, and
  its recompute from the document server (at most one per 2 s per deployment) when it is stale;
  against the bare ``GET /hello`` (Falcon and gunicorn alone).
- ``GET /app/job-status/status/job/{id}``: a document-server lookup among 1,000 seeded job records;
  against a bare endpoint that does the same work (the same ``find_one`` by job id on the same
  server, the document as JSON), and, as a second row, against the bare ``GET /hello``.
The load generator shares the machine's cores with gunicorn, so absolute numbers are low; the
ratios are the point.
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

TARGET_RATIO = 0.5
# One gunicorn worker by default: with several, the kernel may hand every keep-alive connection of the
# fast bare app to one worker (seen: 2 workers served it no faster than 1) while the API's spread over
# all, which made the API look faster than the baseline. One worker compares like with like.
DEFAULTS = dict(seconds=5.0, warmup=1.0, connections=16, client_processes=2, max_requests=200_000, workers=1,
                threads=4)  # fmt: skip
SIZES = {"smoke": dict(seconds=0.5, warmup=0.2, connections=4), "full": dict(seconds=10.0)}


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
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"{self.name:<38} {self.rps:>8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"({self.requests} ok, {self.errors} errors)"
        )


# -- load generator --------------------------------------------------------------------------------
def _client_process(port, paths, headers, threads, warmup, seconds, max_requests, queue) -> None:
    counts = {"ok": 0, "errors": 0}
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.monotonic() + warmup
    end = start + seconds

    def run(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ok = errors = 0
        mine: list[float] = []
        index = offset
        while True:
            now = time.monotonic()
            if now >= end or ok + errors >= max_requests:
                break
            path = paths[index % len(paths)]
            index += 1
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
            if now >= start:  # requests of the warm-up are not counted
                if good:
                    ok += 1
                    mine.append((done - now) * 1000)
                else:
                    errors += 1
        connection.close()
        with lock:
            counts["ok"] += ok
            counts["errors"] += errors
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(i * 7919,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((counts["ok"], counts["errors"], latencies[:20_000]))


def load(name, port, paths, *, headers, connections, processes, warmup, seconds, max_requests) -> Result:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    threads = max(1, connections // processes)
    per_process = max(1, max_requests // processes)
    jobs = [
        multiprocessing.Process(
            target=_client_process,
            args=(port, paths, headers, threads, warmup, seconds, per_process, queue),
        )
        for _ in range(processes)
    ]
    for job in jobs:
        job.start()
    outcomes = [queue.get(timeout=warmup + seconds + 60) for _ in jobs]
    for job in jobs:
        job.join(timeout=10)
    latencies = [ms for _, _, lat in outcomes for ms in lat]
    return Result(name, sum(o[0] for o in outcomes), sum(o[1] for o in outcomes), seconds, latencies)


# -- gunicorn --------------------------------------------------------------------------------------
class Gunicorn:
    def __init__(self, app: str, env: dict[str, str], workers: int, threads: int) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(workers), "--threads", str(threads)]
        command += ["--worker-class", "gthread", "--keep-alive", "5", "--log-level", "warning"]
        self.command = " ".join(command[3:])
        self.process = start_tied(command, death_signal=signal.SIGTERM, cwd=ROOT, env=env)
        try:
            wait_for(self._answers, timeout=60, interval=0.1, what="gunicorn to answer")
        except BaseException:
            self.stop()  # a gunicorn that never answered must not outlive the benchmark
            raise

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {self.process.returncode}")
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/", timeout=2) is not None
        except requests.RequestException:
            return False

    def get(self, path: str, headers: dict[str, str]) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=30)

    def stop(self) -> None:
        stop_process(self.process, timeout=15)


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


def measure_bare(env, args, options, job_paths: list[str], when: str) -> dict[str, Result]:
    """The two baselines on one bare gunicorn: ``hello`` and ``find_one`` (the same work as by-id)."""
    bare = Gunicorn("bench.web_apps:bare_app()", env, args.workers, args.threads)
    print(f"gunicorn {bare.command}")
    try:
        hello = load(f"GET /hello (bare Falcon, {when})", bare.port, ["/hello"], headers={}, **options)
        paths = [p.replace("/app/job-status/status/job/", "/job/") for p in job_paths]
        found = load(f"GET /job/{{id}} (bare find_one, {when})", bare.port, paths, headers={}, **options)
    finally:
        bare.stop()
    return {"hello": hello, "find_one": found}


def measure_api(env, args, options, auth: dict[str, str], job_paths: list[str]) -> dict[str, Result]:
    api = Gunicorn("bench.web_apps:sellersync_app()", env, args.workers, args.threads)
    try:
        first = api.get("/app/job-status/queue/stats", auth)  # the first snapshot, untimed
        if first.status_code != 200:
            raise SystemExit(f"queue stats answered {first.status_code}: {first.content[:200]!r}")
        stats = load("GET /queue/stats", api.port, ["/app/job-status/queue/stats"], headers=auth, **options)
        by_id = load("GET /status/job/{id}", api.port, job_paths, headers=auth, **options)
    finally:
        api.stop()
    return {"stats": stats, "by_id": by_id}


def compare(result: Result, baseline: float, against: str, *, target: bool = True) -> Figure:
    """One row: ``result`` against the mean req/s of a baseline's two runs."""
    return Figure(
        "web",
        f"{result.name} vs {against} (req/s)",
        result.rps,
        unit="req/s",
        baseline=baseline,
        target=f"≥ {TARGET_RATIO}" if target else "",
        note=f"{result.errors} errors",
    ).check()


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.web", __doc__, DEFAULTS, SIZES)
    if not 0 < args.seconds <= 60 or args.connections > 256:
        raise SystemExit("--seconds must be in (0, 60] and --connections at most 256")
    print("Store: the embedded document server (SecantusDB)")
    print(
        f"Load: {args.connections} keep-alive connections from {args.client_processes} processes, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s per endpoint, "
        f"on {os.cpu_count()} CPUs shared with the servers."
    )
    first, api, last = measure(args)
    hello, found = ((first[k].rps + last[k].rps) / 2 for k in ("hello", "find_one"))
    runs = [*first.values(), *api.values(), *last.values()]
    print()
    print("\n".join(result.line() for result in runs))
    print(f"\nBaselines (mean of two runs each): hello {hello:.0f} req/s, find_one {found:.0f} req/s")
    figures = [
        compare(api["stats"], hello, "bare Falcon hello"),
        compare(api["by_id"], found, "bare Falcon find_one (same work)"),
        compare(api["by_id"], hello, "bare Falcon hello", target=False),
    ]
    return finish(figures, {"results": [r.line() for r in runs]}, args.json)


def measure(args) -> tuple[dict[str, Result], dict[str, Result], dict[str, Result]]:
    """The baselines, the API, the baselines again, on the stack's servers (the sandbox is never called:
    it stands for the SP-API endpoint every process of ours requires)."""
    options = dict(connections=args.connections, processes=args.client_processes, warmup=args.warmup,
                   seconds=args.seconds, max_requests=args.max_requests)  # fmt: skip
    with start_stack(time_scale=1000.0) as stack:
        env = process_env(stack)
        auth = {"Authorization": f"Bearer {env['API_TOKENS']}"}
        job_paths = [f"/app/job-status/status/job/{j}" for j in seed_jobs(1000)]
        first = measure_bare(env, args, options, job_paths, "first")
        api = measure_api(env, args, options, auth, job_paths)
        last = measure_bare(env, args, options, job_paths, "last")
    return first, api, last


if __name__ == "__main__":
    sys.exit(main())
