"""How the command prints: aligned tables for people, JSON for machines, progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any


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
