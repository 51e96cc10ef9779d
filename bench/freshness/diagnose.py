"""What a freshness run points at: the overall share after the first wave, and the bottleneck."""

from __future__ import annotations

import os

from bench.common import Stack
from bench.freshness import TARGET_SHARE, WHOLE_MACHINE
from bench.freshness.report import Report


def conclude(stack: Stack, report: Report, processes: int) -> None:
    """The overall share after the first wave, the signals of each part, and the bottleneck."""
    after = report.after_first_wave()
    if after:
        report.overall_share = sum(s.share_fresh for s in after) / len(after)
        report.min_share = min(s.share_fresh for s in after)
    report.signals = signals(stack, report, processes)
    report.bottleneck = bottleneck(report)


def signals(stack: Stack, report: Report, processes: int) -> dict[str, float]:
    """Each part's load (CPU shares of the run's measured interval) and the jobs' quota waits."""
    from models import JobStatus

    jobs = JobStatus._get_collection()
    finished = jobs.count_documents({"status": {"$in": ["completed", "failed"]}})
    waited = jobs.count_documents({"quota_waits": {"$gt": 0}})
    stats = stack.sandbox.state.get_stats()
    cpu = dict(report.cpu_shares)
    whole = cpu.pop(WHOLE_MACHINE, 0.0)
    return {
        "worker CPU (share of their cores)": cpu.get("workers", 0.0) / max(1, processes),
        "document store CPU (one process)": cpu.get("document server", 0.0),
        "Redis CPU (one thread)": cpu.get("redis", 0.0),
        "scheduler CPU": cpu.get("scheduler", 0.0),
        "our processes' CPU (share of all cores)": sum(cpu.values()) / (os.cpu_count() or 1),
        "whole machine CPU, other work included (share of all cores)": whole,
        "jobs that waited for quota tokens": waited / finished if finished else 0.0,
        "failed jobs": jobs.count_documents({"status": "failed"}),
        "429s": sum(counts["throttled"] for ops in stats.values() for counts in ops.values()),
    }


def bottleneck(report: Report) -> str:
    s = report.signals
    loads = {
        "worker CPU": s["worker CPU (share of their cores)"],
        "document store": s["document store CPU (one process)"],
        "Redis": s["Redis CPU (one thread)"],
        "scheduler": s["scheduler CPU"],
    }
    name, load = max(loads.items(), key=lambda kv: kv[1])
    stale = report.min_share is not None and report.min_share < TARGET_SHARE
    machine = s["whole machine CPU, other work included (share of all cores)"]
    ours = s["our processes' CPU (share of all cores)"]
    if stale and machine > 0.9:
        return (
            f"worker CPU: the machine's {os.cpu_count()} cores were {machine:.0%} busy (ours "
            f"{ours:.0%}, the rest other work); the busiest of ours: {name} at {load:.0%} of a core"
        )
    if stale and s["jobs that waited for quota tokens"] > 0.05 and load < 0.7:
        return "SP-API quotas (jobs wait for their sellers' tokens while the servers have room)"
    idle_when_stale = all(s.queued == 0 for s in report.after_first_wave() if s.share_fresh < TARGET_SHARE)
    if stale and idle_when_stale and load < 0.7:
        return (
            "scheduler (users went stale with the queue empty and every server below 70 %: "
            "they were not enqueued in time)"
        )
    detail = f"{name} at {load:.0%} of a core; the machine's {os.cpu_count()} cores {machine:.0%} busy"
    return f"{name} ({detail})" + ("" if stale else "; the target holds, this is the first part to run out")
