"""Freshness at scale: the share of users whose data is younger than their interval (bench.freshness)."""

from __future__ import annotations

import sys
from dataclasses import asdict

import bench.freshness
from bench.common import arguments
from bench.figures import finish
from bench.freshness import TARGET_SHARE
from bench.freshness.drive import run
from bench.freshness.report import print_report

DEFAULTS = dict(users=150, hours=3.0, scale=60.0, tick_minutes=5.0, processes=2, threads=8, max_processes=4)
SIZES = {"smoke": dict(users=6, hours=0.2, tick_minutes=2.0, processes=1, threads=4), "full": dict(hours=6.0)}


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv, "bench.freshness", bench.freshness.__doc__, DEFAULTS, SIZES)
    report = run(args)
    print_report(report)
    finish(report.figures(), {"freshness": asdict(report)}, args.json)
    return 0 if report.min_share is not None and report.min_share >= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
