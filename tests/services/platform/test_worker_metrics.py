"""services.platform.worker_metrics: counters and histograms in Redis: count/observe, flush, read."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis

from embedded.ports import free_port
from services.platform.worker_metrics import METRICS, WorkerMetrics, flush_all
from services.sync.processing import process_user_data


def test_counts_from_several_writers_add_up_per_label_set(settings, redis_client):
    # Given two writers (a process's threads share a tally; processes share nothing but Redis)
    first, second = WorkerMetrics(redis_client, settings), WorkerMetrics(redis_client, settings)

    # When both count requests, and the process sends them
    first.count("spapi_requests", {"operation": "getOrders", "outcome": "429"})
    second.count("spapi_requests", {"operation": "getOrders", "outcome": "429"}, 2)
    second.count("spapi_requests", {"operation": "getOrders", "outcome": "2xx"})
    first.flush()

    # Then the reader sees the totals per label set
    totals = first.read()["spapi_requests"]
    assert totals == {("getOrders", "429"): 3.0, ("getOrders", "2xx"): 1.0}


def test_an_observation_lands_in_the_first_bucket_that_holds_it(settings, redis_client):
    # Given the job-duration histogram's bounds
    bounds = METRICS["job_duration_seconds"].buckets
    metrics = WorkerMetrics(redis_client, settings)
    labels = {"trigger": "schedule", "status": "completed"}

    # When an attempt on a bound, one between two bounds and one beyond the last are observed
    for seconds in (bounds[0], bounds[1] + 0.5, bounds[-1] + 1):
        metrics.observe("job_duration_seconds", labels, seconds)
    metrics.flush()

    # Then the cumulative buckets, count and sum are Prometheus's
    histogram = metrics.read()["job_duration_seconds"][("schedule", "completed")]
    rows = dict(histogram.cumulative(bounds))
    assert rows[str(float(bounds[0]))] == 1 and rows[str(float(bounds[1]))] == 1
    assert rows[str(float(bounds[2]))] == 2 and rows["+Inf"] == 3 == histogram.count
    assert histogram.sum == pytest.approx(bounds[0] + bounds[1] + 0.5 + bounds[-1] + 1)


def test_labels_must_be_the_declared_ones(settings, redis_client):
    with pytest.raises(ValueError, match="labels must be"):
        WorkerMetrics(redis_client, settings).count("job_retries", {"cause": "x"})


def test_an_unreachable_redis_drops_the_metric_and_never_fails_the_work(settings):
    # Given metrics on a Redis that is not there
    gone = redis.Redis(port=free_port(), socket_connect_timeout=0.2)

    # When a worker records, and sends
    metrics = WorkerMetrics(gone, settings)
    metrics.count("job_retries", {"reason": "TransientSpApiError"})
    metrics.flush()

    # Then nothing is raised (the warning is logged)


def test_a_timed_out_request_counts_as_timeout(make_user, sandbox, settings, redis_client):
    # Given an account whose inventory request takes longer than a 0.5 s call timeout, once
    make_user("u-slow", [("US", "slow-us")])
    slow = {"operation": "getInventorySummaries", "latencyMs": 1500, "times": 1}
    sandbox.state.set_faults("slow-us", [slow])

    # When it is synced
    process_user_data("u-slow", settings=replace(settings, sp_api_timeout_seconds=0.5))

    # Then the timeout and the successful try are both counted (once the process sends them)
    flush_all()
    requests = WorkerMetrics(redis_client, settings).read()["spapi_requests"]
    assert requests[("getInventorySummaries", "timeout")] == 1
    assert requests[("getInventorySummaries", "2xx")] >= 1
