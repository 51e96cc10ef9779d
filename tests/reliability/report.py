"""``make reliability``: run the reliability scenarios at full size and write RELIABILITY.md.

    python -m tests.reliability.report [--output RELIABILITY.md] [pytest arguments...]

Each scenario test appends one row (``support.report``) to a JSON-lines file named by
RELIABILITY_REPORT; this command runs pytest with RELIABILITY_FULL=1, then renders the rows as a
table. It exits with pytest's status, and writes the table even when a scenario failed (the failure
is listed), so a bad day is on record too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEADER = """# Reliability

What sellersync did on its worst days, measured by `make reliability` (`python -m
tests.reliability.report`): each scenario of `tests/reliability/` run at full size
on the real topology: separate `dramatiq` CLI worker processes, the scheduler and gunicorn under the
Procfile supervisor, a real redis-server and the document server (SecantusDB), SP-API calls to the
local sandbox. CI runs the same tests at smaller sizes, asserting the same properties.

*Lost*: jobs that never reached a final state. *Duplicated*: jobs whose completion was logged more
than once. *Time to recover*: from the end of the fault (restart, new worker) to the last job done.
"""

FOOTER = """
## How each property is checked

- Every job completed exactly once: each job's record is `completed`, and no job's completion is
  logged twice across all worker output.
- `attempts` counts the killed attempts: every logged start of a job is counted in its record, and
  kills cost attempts.
- Same content as a run without crashes (chaos): orders, sales metrics, inventory, analyses and the
  Redis cache of a crash-free run of the same waves are compared field by field (timestamps of
  storage left out) with those of the run under kills.
- No completed account fetched again: the sandbox counts getOrders per seller; a fetch forgets its
  progress once the account is stored, so fetching a completed account again calls getOrders again.
  Beyond one call per job, a user's accounts may only show one extra call per killed attempt.
- No job's writes interleave between two executions (partition across hosts): each execution of
  a job holds a lease with a fencing token (README, Fencing); the workers log each execution's start
  and end with its token, and the record keeps the token of the execution that started it last. Per
  job, tokens grow with each start, no older execution's end is recorded after a newer one started,
  exactly one completion is recorded, and the record's token is the newest execution's.

## Limits found on the way

- An outage of Redis longer than BROKER_HEARTBEAT_TIMEOUT_MS (60 s by default) makes every live
  worker look dead when Redis returns: the first maintenance requeues the messages they are running.
  Before the job leases those jobs ran twice at once (seen with a 4 s timeout and a 10 s outage); now
  a redelivered copy finds its job's lease held and is put back, and an execution whose lease ran out
  during the outage stops before its next write (what the partition scenario checks; the Redis
  scenario still runs with 30 s, longer than its outage, as production's 60 s is).
- Dramatiq 2.2's Redis consumer heartbeats only when it fetches or acks, so a worker whose threads are
  all busy with jobs longer than the heartbeat timeout could look dead too. The long-jobs scenario
  runs jobs four times the timeout on every thread: the row counts the redelivered copies put back
  under a live lease (none so far: a worker's consumers of its other queues, idle, keep fetching and
  so heartbeating), and no job ran twice at once.
"""


def render(rows: list[dict], failed: list[str], command: str, seconds: float) -> str:
    lines = [HEADER]
    lines.append(
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} CPUs "
        f"({platform.python_implementation()} {platform.python_version()}), {seconds / 60:.1f} min: "
        f"`{command}`.\n"
    )
    lines.append(
        "| scenario | what was done | jobs in | completed | lost | duplicated | time to recover | notes |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        recover = "—" if row["recovery_seconds"] is None else f"{row['recovery_seconds']:.1f} s"
        lines.append(
            f"| {row['scenario']} | {row['done']} | {row['jobs_in']} | {row['completed']} | {row['lost']} "
            f"| {row['duplicated']} | {recover} | {row['notes']} |"
        )
    lost = sum(r["lost"] for r in rows)
    duplicated = sum(r["duplicated"] for r in rows)
    jobs_in = sum(r["jobs_in"] for r in rows)
    lines.append("")
    lines.append(f"**In all: {jobs_in} jobs, {lost} lost, {duplicated} duplicated.**")
    if failed:
        lines.append("")
        lines.append("**Scenarios that failed in this run:** " + ", ".join(f"`{f}`" for f in failed))
    lines.append(FOOTER)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--output", default=str(ROOT / "RELIABILITY.md"), help="the table's file")
    args, pytest_args = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="sellersync-reliability-") as folder:
        rows_path = Path(folder) / "rows.jsonl"
        env = {**os.environ, "RELIABILITY_FULL": "1", "RELIABILITY_REPORT": str(rows_path)}
        command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider",
                   "--timeout=3600", *pytest_args]  # fmt: skip
        started = datetime.now(UTC)
        status = subprocess.call(command, cwd=ROOT, env=env)
        seconds = (datetime.now(UTC) - started).total_seconds()
        lines = rows_path.read_text().splitlines() if rows_path.exists() else []
        rows = [row for row in map(json.loads, lines) if "scenario" in row]
        failed = [row["failed"] for row in map(json.loads, lines) if "failed" in row]
    Path(args.output).write_text(render(rows, failed, "make reliability", seconds))
    print(f"Wrote {args.output}: {len(rows)} scenarios, pytest exit status {status}.")
    return status


if __name__ == "__main__":
    sys.exit(main())
