"""Worker-side metrics in /metrics: what the workers saw of SP-API and of their jobs, read back after a
real sync through the broker, the worker and the sandbox with injected faults."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.platform.worker_metrics import flush_all
from tests.support import finished, wait_for

JOB_ATTEMPTS = "sellersync_job_duration_seconds_count"


def scrape(anonymous, attempts: int = 1) -> dict[tuple[str, frozenset], float]:
    """/metrics as ``{(sample name, labels): value}``, once the worker's process (this one) has sent
    the metrics of ``attempts`` job attempts (recorded just after each attempt's record is finished)."""

    def attempts_sent() -> bool:
        flush_all()
        return sum(v for (name, _), v in _samples(anonymous).items() if name == JOB_ATTEMPTS) >= attempts

    wait_for(attempts_sent, timeout=10)
    return _samples(anonymous)


def _samples(anonymous) -> dict[tuple[str, frozenset], float]:
    result = anonymous.simulate_get("/metrics")
    assert result.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(result.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_sync_with_429s_shows_the_requests_by_outcome_and_the_quota_waits(
    broker, worker, make_user, sandbox, anonymous, producer
):
    # Given an account whose getOrders answers 429 three times, then as usual
    make_user("u-throttled", [("US", "throttled-us")])
    sandbox.state.set_faults("throttled-us", [{"operation": "getOrders", "status": 429, "times": 3}])

    # When its sync runs on a worker
    job_id = producer.enqueue_user("u-throttled").job_id
    record = wait_for(lambda: finished(job_id), timeout=30)
    assert record.status == "completed", record.error

    # Then /metrics counts the three 429s and the requests served, as the sandbox saw them
    samples = scrape(anonymous)
    served = sandbox.state.get_stats()["throttled-us"]["getOrders"]["served"]
    requests = "sellersync_spapi_requests_total"
    assert value(samples, requests, operation="getOrders", outcome="429") == 3
    assert value(samples, requests, operation="getOrders", outcome="2xx") == served
    assert value(samples, requests, operation="getOrderMetrics", outcome="2xx") >= 1
    # And the waits that the 429s imposed (each empties the shared bucket) as a count and seconds
    waits = "sellersync_spapi_quota_wait_seconds"
    slept = {"operation": "getOrders", "kind": "sleep"}
    assert value(samples, f"{waits}_count", **slept) >= 3
    assert value(samples, f"{waits}_sum", **slept) > 0
    assert value(samples, f"{waits}_bucket", le="+Inf", **slept) == value(samples, f"{waits}_count", **slept)
    # And the job's attempt, by its trigger
    assert value(samples, JOB_ATTEMPTS, trigger="manual", status="completed") == 1


def test_a_job_retried_after_server_errors_shows_the_retry_by_reason(
    broker, worker, make_user, sandbox, anonymous, settings, producer
):
    # Given an account whose getOrderMetrics answers 500 more often than one attempt of the job tries
    make_user("u-flaky", [("US", "flaky-us")])
    failures = settings.sp_api_retry_attempts
    sandbox.state.set_faults("flaky-us", [{"operation": "getOrderMetrics", "status": 500, "times": failures}])

    # When its sync runs, fails its first attempt and is retried
    job_id = producer.enqueue_user("u-flaky", "schedule").job_id
    record = wait_for(lambda: finished(job_id), timeout=30)
    assert record.status == "completed" and record.attempts == 2, record.error

    # Then /metrics shows the 5xx answers, one retry by its reason, and both attempts by trigger
    samples = scrape(anonymous, attempts=2)
    requests = "sellersync_spapi_requests_total"
    assert value(samples, requests, operation="getOrderMetrics", outcome="5xx") == failures
    assert value(samples, "sellersync_job_retries_total", reason="TransientSpApiError") == 1
    for status in ("retrying", "completed"):
        assert value(samples, JOB_ATTEMPTS, trigger="schedule", status=status) == 1


def test_a_connected_accounts_first_analysis_is_timed_once_from_its_connection(
    broker, worker, make_user, anonymous, settings, producer
):
    # Given a user, and a worker
    make_user("u-new")

    # When the seller connects an account, and its first sync ends
    from services.operations.demo import sandbox_token
    from services.operations.onboarding import connect_and_sync

    connected = connect_and_sync(
        producer, "u-new", "US", sandbox_token("new-us"), seller_id="new-us", settings=settings
    )
    record = wait_for(lambda: finished(connected.sync.job_id), timeout=30)
    assert record.status == "completed", record.error
    # And the user is synced once more, an hourly sync after the first
    again = producer.enqueue_user("u-new", "manual").job_id
    wait_for(lambda: finished(again), timeout=30)

    # Then /metrics has one observation: the first look, seconds after the connection
    samples = scrape(anonymous, attempts=2)
    seconds = "sellersync_first_analysis_seconds"
    assert value(samples, f"{seconds}_count", kind="first_look") == 1
    assert value(samples, f"{seconds}_count", kind="full") == 0
    assert 0 < value(samples, f"{seconds}_sum", kind="first_look") < 30
