"""How the command prints: aligned tables for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from services.jobs.json_shape import enqueued_json, job_json

if TYPE_CHECKING:
    from cli.context import Context


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T" and value.endswith("Z"):
        return value[:10] + " " + value[11:19] + "Z"  # an ISO timestamp of the API's form, to the second
    return str(value)


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], out: IO[str]) -> None:
    """Columns aligned on the widest cell; ``-`` for a missing value."""
    text = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in text)]) for i, h in enumerate(headers)]
    for row in [list(headers), *text]:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def as_json(data: Any, out: IO[str]) -> None:
    out.write(json.dumps(data, indent=2, default=str) + "\n")


def progress(message: str, err: IO[str] | None = None) -> None:
    stream = err or sys.stderr
    stream.write(message + "\n")
    stream.flush()


def job_rows(jobs) -> list[tuple]:
    return [
        (
            j.job_id,
            j.user_id,
            j.status,
            j.trigger,
            f"{j.attempts or 0}/{j.max_attempts}",
            j.queued_at,
            f"{j.duration_ms / 1000:.1f}s" if j.duration_ms is not None else None,
            f"{j.accounts_processed}/{j.accounts_total}",
            f"{j.error.type}: {j.error.message}" if j.error else None,
        )
        for j in jobs
    ]


JOB_HEADERS = ("JOB", "USER", "STATUS", "TRIGGER", "ATTEMPTS", "QUEUED", "DURATION", "ACCOUNTS", "ERROR")


def print_jobs(ctx: Context, jobs) -> None:
    if ctx.json:
        as_json({"jobs": [job_json(j) for j in jobs]}, ctx.out)
    else:
        table(job_rows(jobs), JOB_HEADERS, ctx.out)


def print_enqueued(ctx: Context, results) -> None:
    if ctx.json:
        as_json(
            {"jobs": [enqueued_json(r) for r in results]},
            ctx.out,
        )
    else:
        table(
            ((r.user_id, r.job_id, _enqueue_outcome(r)) for r in results),
            ("USER", "JOB", "RESULT"),
            ctx.out,
        )


def _enqueue_outcome(enqueued) -> str:
    if enqueued.promoted:
        return "moved into the priority lane"
    return "already queued or running" if enqueued.deduplicated else "enqueued"
