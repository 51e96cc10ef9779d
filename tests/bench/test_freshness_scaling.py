"""bench.freshness compresses time: the product's durations must keep their meaning in its settings."""

from __future__ import annotations

from bench.freshness.drive import scaled_settings
from services.jobs.lease import LeaseTiming
from services.platform.settings import Settings

INTERVAL_MINUTES = 60


def simulated_minutes(real_ms: float, scale: float) -> float:
    return real_ms / 1000 * scale / 60


def test_a_job_lease_left_behind_holds_its_job_a_small_part_of_the_interval_at_an_hour_a_minute():
    # Given the settings of a run where an hour lasts a minute
    settings = Settings.from_env(scaled_settings(scale=60, tick_minutes=5, threads=8))
    # When a stopped worker leaves a job's lease behind, the job waits for it to run out
    timing = LeaseTiming.of(settings)
    # Then that wait is a few simulated minutes of the interval, not half of it (the unscaled 30 s),
    # and the redelivery of a dead worker's messages too
    assert simulated_minutes(timing.lease_ms + timing.renew_ms, 60) <= INTERVAL_MINUTES / 20
    assert simulated_minutes(settings.broker_heartbeat_timeout_ms, 60) <= INTERVAL_MINUTES / 10


def test_at_the_real_pace_the_heartbeat_timeout_and_so_the_lease_are_the_defaults():
    # Given no compression, Then the heartbeat timeout and the lease are the defaults
    settings = Settings.from_env(scaled_settings(scale=1, tick_minutes=5, threads=8))
    assert settings.broker_heartbeat_timeout_ms == Settings().broker_heartbeat_timeout_ms
