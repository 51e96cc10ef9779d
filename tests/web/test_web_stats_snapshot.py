"""The queue-stats snapshot: computed at most once per max_age, shared through Redis."""

from __future__ import annotations

from services.jobs.queries import StatsSnapshot


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"calls": self.calls}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_snapshot_is_served_from_redis(settings, redis_client):
    # Given two snapshots (two web processes) on the same Redis
    compute, clock = Counter(), Clock()
    first = StatsSnapshot(settings, redis_client, compute, max_age=2, clock=clock)
    second = StatsSnapshot(settings, redis_client, compute, max_age=2, clock=clock)
    # When both read within max_age
    assert first.get() == {"calls": 1}
    clock.now += 1.5
    assert second.get() == {"calls": 1}
    # Then it was computed once; past max_age it is computed again
    clock.now += 1
    assert second.get() == {"calls": 2}
    assert first.get() == {"calls": 2}


def test_a_stale_snapshot_is_served_while_another_process_recomputes(settings, redis_client):
    # Given a stale snapshot and the recompute lock held by another process
    compute, clock = Counter(), Clock()
    snapshot = StatsSnapshot(settings, redis_client, compute, max_age=2, clock=clock)
    snapshot.get()
    clock.now += 10
    redis_client.set(snapshot.lock_key, "1")
    # When / Then: the previous snapshot is served, nothing is recomputed
    assert snapshot.get() == {"calls": 1}
    assert compute.calls == 1


def test_max_age_zero_computes_every_time(settings, redis_client):
    compute = Counter()
    snapshot = StatsSnapshot(settings, redis_client, compute, max_age=0)
    assert [snapshot.get(), snapshot.get()] == [{"calls": 1}, {"calls": 2}]
