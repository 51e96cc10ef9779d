"""Every benchmark runs at its smoke size, so a broken benchmark fails the suite.

The smoke runs check that each benchmark's output is well formed, never a timing. They run as the
benchmarks always do, each in its own process with its own loopback servers, all started at once so
that the slowest one sets the suite's time. bench.freshness is also checked for what it computes:
the share of fresh users it reports must be the share that the job records give.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from tests.support import start_child

ROOT = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT = 240
FIGURE_KEYS = {"benchmark", "name", "ours", "unit", "baseline", "ratio", "target", "ok", "note"}

#: (the module fixture waits up to SMOKE_TIMEOUT for the smoke runs, within the first test's timeout)
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(SMOKE_TIMEOUT + 60)]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory) -> dict[str, dict]:
    """Start every benchmark at its smoke size, in parallel; their exit codes, output and JSON."""
    folder = tmp_path_factory.mktemp("bench")
    running = {}
    for name in (*BENCHMARKS, "freshness"):
        out = folder / f"{name}.json"
        log = (folder / f"{name}.log").open("w")
        command = [sys.executable, "-m", f"bench.{name}", "--size", "smoke", "--json", str(out)]
        running[name] = (start_child(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), out, log)
    deadline = time.monotonic() + SMOKE_TIMEOUT
    runs = {}
    for name, (process, out, log) in running.items():
        try:
            status = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait()
        log.close()
        text = Path(log.name).read_text()
        document = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
        runs[name] = {"status": status, "output": text, "document": document}
    return runs


def _check_figures(run: dict, name: str) -> list[dict]:
    assert run["document"] is not None, f"bench.{name} wrote no JSON:\n{run['output'][-3000:]}"
    figures = run["document"]["figures"]
    assert figures, f"bench.{name} reported no figure"
    for figure in figures:
        assert set(figure) == FIGURE_KEYS
        assert figure["benchmark"] == name
        assert isinstance(figure["ours"], int | float) and math.isfinite(figure["ours"]), figure
        for key in ("baseline", "ratio"):
            assert figure[key] is None or (
                isinstance(figure[key], int | float) and math.isfinite(figure[key])
            )
        assert figure["ok"] in (True, False, None)
        assert (figure["ok"] is None) == (not figure["target"]), figure
    return figures


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_runs_at_smoke_size_and_reports_well_formed_figures(smoke_runs, name):
    # Given the benchmark's smoke run
    run = smoke_runs[name]
    # Then it exited cleanly and its figures have the table's shape
    assert run["status"] == 0, f"bench.{name} exited {run['status']}:\n{run['output'][-3000:]}"
    _check_figures(run, name)
    # And it printed the table
    assert "figure" in run["output"] and "target" in run["output"]


def test_freshness_share_matches_the_job_records(smoke_runs):
    # Given a small freshness run (its target may be missed at this size: exit 0 or 1)
    run = smoke_runs["freshness"]
    assert run["status"] in (0, 1), run["output"][-3000:]
    _check_figures(run, "freshness")
    report = run["document"]["details"]["freshness"]
    final = report["final"]
    at = datetime.fromisoformat(final["sample"]["at"])
    interval = final["intervalSeconds"]
    users = final["lastSyncedAt"]

    # When the share of fresh users is computed again, from each user's latest completed job
    def fresh(moment: str | None) -> bool:
        return moment is not None and (at - datetime.fromisoformat(moment)).total_seconds() < interval

    from_jobs = sum(fresh(final["lastCompletedJobAt"].get(user)) for user in users) / len(users)
    from_users = sum(fresh(moment) for moment in users.values()) / len(users)

    # Then it is the share the benchmark reported (a job completes a moment after its user is marked
    # synced, so one user may sit on the boundary)
    assert final["sample"]["share_fresh"] == pytest.approx(from_users)
    assert abs(final["sample"]["share_fresh"] - from_jobs) <= 1 / len(users) + 1e-9
    # And every user was synced by a completed job
    assert len(final["lastCompletedJobAt"]) == len(users)
    # And the run sampled after its first wave
    assert report["first_wave_minute"] is not None
    assert any(s["minute"] > report["first_wave_minute"] for s in report["samples"])


def _named(run: dict, name: str) -> dict[str, dict]:
    return {figure["name"]: figure for figure in _check_figures(run, name)}


def test_web_compares_each_route_with_a_baseline_doing_the_same_work(smoke_runs):
    # Given bench.web's smoke run
    figures = _named(smoke_runs["web"], "web")

    # Then the status-by-id route is held to the bare find_one on the same server, the hello-world
    # stays as an untargeted second row, and queue stats keep the hello-world baseline
    by_id = figures["GET /status/job/{id} vs bare Falcon find_one (same work) (req/s)"]
    assert by_id["target"] == "≥ 0.5" and by_id["baseline"] > 0
    assert figures["GET /status/job/{id} vs bare Falcon hello (req/s)"]["target"] == ""
    assert figures["GET /queue/stats vs bare Falcon hello (req/s)"]["target"] == "≥ 0.5"
    # And the find_one baseline did the lookups (its row is in the output, without errors)
    assert "bare find_one, first" in smoke_runs["web"]["output"]


def test_enqueue_compares_with_the_seed_loop_and_reports_its_redis_side(smoke_runs):
    # Given bench.enqueue's smoke run
    figures = _named(smoke_runs["enqueue"], "enqueue")

    def row(part: str) -> dict:
        return next(figure for name, figure in figures.items() if part in name)

    # Then ours is held to the loop that inserts a record and sends a message per user (≥ 1)
    same_work = row("vs the seed's insert + send() loop")
    assert same_work["target"] == "≥ 1" and same_work["baseline"] > 0
    # And the bare send() loop is a second, untargeted row
    assert row("vs a bare send() loop (no records)")["target"] == ""
    # And the Redis side (the document server's time taken out) is reported against it (≥ 10)
    redis_side = row("its Redis side")
    assert redis_side["target"] == "≥ 10" and redis_side["ours"] >= same_work["ours"]
