"""The figures of the benchmarks (ours, the baseline measured in the same run, their ratio, the
target) and their table, apart from the code that measures."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Where ``python -m bench`` leaves the figures of its last run (git-ignored: machine-specific).
RESULTS = ROOT / "bench" / "results.json"


@dataclass
class Figure:
    """One row of the table: ``ratio`` is ours against the baseline (None: no baseline applies)."""

    benchmark: str
    name: str
    ours: float | None
    unit: str = ""
    baseline: float | None = None
    ratio: float | None = None
    #: The target as text (``≥ 10``, ``≤ 1.10``), or "" for an informative figure.
    target: str = ""
    #: True/False: the target is met or not; None: no target.
    ok: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline and self.ours is not None:
            self.ratio = self.ours / self.baseline

    def check(self, value: float | None = None) -> Figure:
        """Set ``ok`` by comparing ``value`` (default: ratio, else ours) with the target."""
        value = value if value is not None else self.ratio if self.ratio is not None else self.ours
        if not self.target or value is None:
            return self
        op, bound = self.target.split()
        limit = float(bound.rstrip("%x×"))
        self.ok = value >= limit if op == "≥" else value <= limit if op == "≤" else value < limit
        return self


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def table(figures: Iterable[Figure]) -> str:
    """The figures as one fixed-width table: figure, ours, baseline, ratio, target, status."""
    rows = [("figure", "ours", "baseline", "ratio", "target", "")]
    for f in figures:
        status = "" if f.ok is None else "ok" if f.ok else "MISSED"
        unit = f" {f.unit}" if f.unit else ""
        name = f"{f.benchmark}: {f.name}"
        rows.append((name, fmt(f.ours) + unit, fmt(f.baseline) + unit, fmt(f.ratio), f.target, status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_results(figures: list[Figure], extra: dict[str, Any], path: Path = RESULTS) -> None:
    """``figures`` and ``extra`` as JSON, with the moment and the machine's cores."""
    written = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    document = {
        "writtenAt": written,
        "cpus": os.cpu_count(),
        "figures": [asdict(f) for f in figures],
        **extra,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def finish(figures: list[Figure], details: dict[str, Any], json_path: str | None, status: int = 0) -> int:
    """Print the figures' table; write them (and ``details``) to ``json_path``; return ``status``."""
    print(table(figures))
    if json_path:
        write_results(figures, {"details": details}, Path(json_path))
    return status
