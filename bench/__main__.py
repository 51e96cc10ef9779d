"""Every benchmark, one after the other, and one table: ``make bench`` (``python -m bench``).

    python -m bench [--full] [--only drain,cost] [--freshness]

Each benchmark runs in its own process (``python -m bench.<name> --size ... --json ...``), with its
own loopback servers and settings; ``bench/results.json`` keeps the figures and every benchmark's
details (README, Performance).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import RESULTS, ROOT, Figure, table, write_results

#: The benchmarks of the table, in the order they run.
BENCHMARKS = ("enqueue", "drain", "cost", "memory", "web", "spapi", "first_look")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes, plus bench.freshness")
    parser.add_argument("--smoke", action="store_true", help="the smallest sizes (what the tests run)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)},freshness")
    parser.add_argument("--freshness", action="store_true", help="add bench.freshness at this size")
    parser.add_argument("--results", default=str(RESULTS), help="where to write the figures (JSON)")
    args = parser.parse_args(argv)
    size = "full" if args.full else "smoke" if args.smoke else "default"
    names = list(BENCHMARKS) + (["freshness"] if args.full or args.freshness else [])
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = set(names) - set(BENCHMARKS) - {"freshness"}
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    figures: list[Figure] = []
    details: dict[str, object] = {"size": size, "seconds": {}}
    failed: list[str] = []
    for name in names:
        started = time.monotonic()
        print(f"== bench.{name} ({size})", flush=True)
        outcome = run_one(name, size)
        details["seconds"][name] = round(time.monotonic() - started, 1)  # type: ignore[index]
        if outcome is None:
            failed.append(name)
            continue
        figures += [Figure(**f) for f in outcome["figures"]]
        details[name] = outcome.get("details", {})
    print()
    print(table(figures))
    if failed:
        print(f"\nFailed to run: {', '.join(failed)} (see their output above).")
    write_results(figures, details, Path(args.results))
    print(f"\nWritten to {args.results}.")
    return 1 if failed else 0


def run_one(name: str, size: str) -> dict | None:
    """Run ``bench.<name>`` in its own process; its figures, or None when it failed."""
    with tempfile.NamedTemporaryFile(suffix=".json", prefix=f"bench-{name}-") as out:
        command = [sys.executable, "-m", f"bench.{name}", "--size", size, "--json", out.name]
        status = subprocess.run(command, cwd=ROOT).returncode
        try:
            document = json.loads(Path(out.name).read_text() or "null")
        except json.JSONDecodeError:
            document = None
    # bench.freshness exits 1 when it misses its target: its figures still count.
    if document is None or (status != 0 and name != "freshness"):
        return None
    return document


if __name__ == "__main__":
    sys.exit(main())
