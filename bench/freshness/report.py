"""What a freshness run reports: its figures, a line per sample and the closing summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.figures import Figure
from bench.freshness.sample import Sample


@dataclass
class Report:
    users: int
    accounts: int
    scale: float
    hours: float
    tick_minutes: float
    workers: list[str] = field(default_factory=list)
    capacity_plan: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    first_wave_minute: float | None = None
    overall_share: float | None = None
    min_share: float | None = None
    cpu_shares: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)
    bottleneck: str = ""
    #: A last sample taken after every process stopped, with the raw data behind it: each user's
    #: ``last_synced_at`` and each user's latest completed job (``completed_at``), so that a test can
    #: check the share against the job records.
    final: dict = field(default_factory=dict)

    def after_first_wave(self) -> list[Sample]:
        if self.first_wave_minute is None:
            return []
        return [s for s in self.samples if s.minute > self.first_wave_minute]

    def figures(self) -> list[Figure]:
        return [
            Figure(
                "freshness",
                f"min share fresh after the first wave ({self.users} users, {self.hours:g} h)",
                None if self.min_share is None else 100 * self.min_share,
                unit="%",
                target="≥ 99",
                note=f"overall {fmt_share(self.overall_share)}; bottleneck: {self.bottleneck}",
            ).check()
        ]


def fmt_share(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.2f} %"


def _m(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.1f}"


def sample_line(sample: Sample, users: int) -> str:
    return (
        f"  t={sample.minute:6.1f} min  fresh {100 * sample.share_fresh:6.2f} %  synced once "
        f"{sample.synced_once}/{users}  age p50 {_m(sample.p50_age_minutes)} p95 "
        f"{_m(sample.p95_age_minutes)}  queue {sample.queued}, oldest {sample.oldest_waiting_minutes:.1f} min"
    )


def print_report(report: Report) -> None:
    print()
    print(f"Freshness: {report.users} users, {report.accounts} seller accounts, scale {report.scale:g} "
          f"(an hour in {60 / report.scale:g} min), "
          f"scheduler every {report.tick_minutes:g} simulated min")  # fmt: skip
    print(f"Workers: {'; then '.join(report.workers)}")
    for line in report.capacity_plan:
        print(f"  {line}")
    print(f"First wave done at {report.first_wave_minute} simulated min")
    print(f"After it, over {report.hours:g} simulated h: overall {fmt_share(report.overall_share)} fresh, "
          f"lowest sample {fmt_share(report.min_share)} (target ≥ 99 % at every sample)")  # fmt: skip
    after = report.after_first_wave()
    if after:
        p50 = max(s.p50_age_minutes or 0 for s in after)
        p95 = max(s.p95_age_minutes or 0 for s in after)
        oldest = max(s.oldest_waiting_minutes for s in after)
        print(f"Data age (simulated min), worst sample: p50 {p50:.1f}, p95 {p95:.1f}; "
              f"oldest waiting job {oldest:.1f}")  # fmt: skip
    print("CPU, share of one core: " + ", ".join(f"{k} {v:.0%}" for k, v in report.cpu_shares.items()))
    signals = (f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in report.signals.items())
    print("Signals: " + ", ".join(signals))
    print(f"Bottleneck: {report.bottleneck}")
