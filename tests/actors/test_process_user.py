"""The whole pipeline: real RedisBroker, real dramatiq.Worker, real SP-API client, the sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from models import Analysis, JobStatus, SellerAccount, User
from services.jobs.producer import PRIORITY_QUEUE_NAME, QUEUE_NAME
from services.platform.errors import UnknownUserError
from services.sync.cache import analysis_key
from tests.support import finished, wait_for
from tests.support.amazon import amazon_order, fba_summary


def run_jobs(broker, worker) -> None:
    for queue in (PRIORITY_QUEUE_NAME, QUEUE_NAME):
        broker.join(queue, timeout=30_000)
    worker.join()


def job(job_id: str) -> JobStatus:
    return JobStatus.objects.get(job_id=job_id)


def test_a_users_accounts_are_fetched_analysed_cached_and_marked_complete(
    broker, worker, make_user, redis_client, settings, sandbox, producer
):
    # Given a user with two seller accounts in two regions
    make_user("u-pipeline", [("US", "acme-us"), ("DE", "acme-de")])

    # When the user is enqueued and a worker runs the job
    enqueued = producer.enqueue_user("u-pipeline", "manual")
    assert job(enqueued.job_id).status == "queued"
    record = wait_for(lambda: finished(enqueued.job_id))

    # Then the job went through running to completed with every account's result
    assert record.status == "completed", record.error
    assert record.attempts == 1
    assert record.started_at and record.completed_at and record.duration_ms is not None
    assert record.worker
    assert [(a.region, a.country, a.status) for a in record.accounts] == [
        ("eu", "DE", "completed"),
        ("na", "US", "completed"),
    ]
    assert record.progress == 100 and record.accounts_failed == 0
    assert all(a.orders_fetched > 0 for a in record.accounts)
    # And each account has an Analysis, cached under the namespace with a TTL of 2 x interval
    for country in ("US", "DE"):
        analysis = Analysis.objects.get(user_id="u-pipeline", country=country)
        cached = json.loads(redis_client.get(analysis_key(settings, "u-pipeline", country)))
        assert cached["kpis"] == analysis.kpis
        ttl = redis_client.ttl(analysis_key(settings, "u-pipeline", country))
        assert settings.cache_ttl_seconds - 5 <= ttl <= settings.cache_ttl_seconds
    # And the accounts and the user carry their sync time
    assert all(a.last_synced_at is not None for a in SellerAccount.objects(user_id="u-pipeline"))
    assert User.objects.get(user_id="u-pipeline").last_synced_at is not None
    # And the user is free for its next job
    assert producer.enqueue_user("u-pipeline").job_id != enqueued.job_id


def _hand_made_orders(now: datetime) -> list[dict]:
    def order(number: int, days_ago: int, status: str, total: str, sku: str, quantity: int) -> dict:
        purchased = (now - timedelta(days=days_ago)).replace(hour=1, minute=0, second=0, microsecond=0)
        order_id = f"111-0000000-000000{number}"
        return amazon_order(
            order_id, purchased, status, total, sku, quantity, number=number, shipped=quantity
        )

    return [
        order(1, 1, "Shipped", "100.00", "SKU-A", 2),  # this week
        order(2, 3, "Shipped", "50.00", "SKU-B", 1),  # this week
        order(3, 9, "Shipped", "30.00", "SKU-A", 1),  # the week before
        order(4, 2, "Canceled", "20.00", "SKU-B", 1),  # cancelled: no revenue, counts in the rate
    ]


def test_the_kpis_match_a_seller_computed_by_hand(broker, worker, make_user, sandbox, producer):
    # Given a seller whose orders and stock we know
    now = datetime.now(UTC)
    sandbox.state.set_data(
        "hand-us",
        {
            "orders": _hand_made_orders(now),
            "inventory": [fba_summary("SKU-A", 4), fba_summary("SKU-B", 20), fba_summary("SKU-C", 0)],
        },
    )
    make_user("u-hand", [("US", "hand-us")])

    # When it is synced
    enqueued = producer.enqueue_user("u-hand")
    assert wait_for(lambda: finished(enqueued.job_id)).status == "completed"

    # Then the KPIs are what we compute by hand
    kpis = Analysis.objects.get(user_id="u-hand").kpis
    assert kpis["currency"] == "USD"
    assert kpis["revenue_7d"] == "150.00"  # 100 + 50
    assert kpis["revenue_30d"] == "180.00"  # + 30; the cancelled 20 is left out
    assert (kpis["orders_7d"], kpis["orders_30d"], kpis["units_30d"]) == (2, 3, 4)
    assert kpis["average_order_value_30d"] == "60.00"  # 180 / 3
    assert kpis["revenue_growth_wow_pct"] == "400.0"  # (150 - 30) / 30
    assert kpis["cancellation_rate_30d"] == "0.2500"  # 1 of 4 orders
    assert len(kpis["daily"]) == 30 and kpis["daily"][-1]["date"] == datetime.now(UTC).date().isoformat()
    assert sum(int(day["orders"]) for day in kpis["daily"]) == 3
    inventory = kpis["inventory"]
    assert (inventory["sellable_units"], inventory["skus"], inventory["skus_out_of_stock"]) == (24, 3, 1)
    # SKU-A sold 3 in 30 days: 4 units cover 40 days; SKU-B sold 1 (the cancelled one not counted)
    assert inventory["low_stock"] == []


def test_low_stock_lists_skus_covering_fewer_than_14_days(broker, worker, make_user, sandbox, producer):
    # Given a SKU that sold 3 units in 30 days with 1 unit left: 10 days of cover
    now = datetime.now(UTC)
    sandbox.state.set_data(
        "low-us",
        {"orders": _hand_made_orders(now), "inventory": [fba_summary("SKU-A", 1), fba_summary("SKU-B", 9)]},
    )
    make_user("u-low", [("US", "low-us")])

    # When it is synced
    enqueued = producer.enqueue_user("u-low")
    assert wait_for(lambda: finished(enqueued.job_id)).status == "completed"

    # Then SKU-A is low on stock and SKU-B (1 sold, 9 left: 270 days) is not
    low = Analysis.objects.get(user_id="u-low").kpis["inventory"]["low_stock"]
    assert low == [{"sku": "SKU-A", "sellable": 1, "units_30d": 3, "days_of_cover": "10.0"}]


def test_a_failing_account_is_retried_and_the_accounts_already_done_are_not_fetched_again(
    broker, worker, make_user, sandbox, settings, producer
):
    # Given a user whose US account answers 500 for longer than the call-level retries last
    make_user("u-retry", [("DE", "retry-de"), ("US", "retry-us")])
    sandbox.state.set_faults(
        "retry-us", [{"operation": "getOrders", "status": 500, "times": settings.sp_api_retry_attempts}]
    )

    # When the job runs
    enqueued = producer.enqueue_user("u-retry")

    # Then it is retrying after the first attempt, then completed
    wait_for(lambda: job(enqueued.job_id).status == "retrying" or job(enqueued.job_id).attempts > 1)
    record = wait_for(lambda: finished(enqueued.job_id))
    assert record.status == "completed", record.error
    assert record.attempts == 2
    assert [a.status for a in record.accounts] == ["completed", "completed"]
    # And the DE account, completed by the first attempt, was not fetched again
    stats = sandbox.state.get_stats()
    assert stats["retry-de"]["getOrders"]["served"] == 1
    assert stats["retry-us"]["getOrders"]["failed"] == settings.sp_api_retry_attempts
    assert stats["retry-us"]["getOrders"]["served"] == 1


def test_a_job_that_keeps_failing_ends_failed_with_its_reason(
    broker, worker, make_user, sandbox, settings, producer
):
    # Given an account that answers 503 forever
    make_user("u-fail", [("US", "fail-us")])
    sandbox.state.set_faults("fail-us", [{"operation": "getOrders", "status": 503}])

    # When the job runs out of retries
    enqueued = producer.enqueue_user("u-fail")
    record = wait_for(lambda: finished(enqueued.job_id), timeout=30)

    # Then it is failed, after 1 + JOB_MAX_RETRIES attempts, with the reason on record
    assert record.status == "failed"
    assert record.attempts == settings.job_max_retries + 1
    assert record.error.type == "TransientSpApiError"
    assert "na/US" in record.error.message and "503" in record.error.message
    assert record.accounts[0].status == "failed"
    assert record.failed_at is not None


def test_a_revoked_refresh_token_marks_that_account_auth_error_and_the_others_complete(
    broker, worker, make_user, sandbox, producer
):
    # Given a user whose JP authorisation was revoked
    make_user("u-auth", [("US", "fine-us"), ("JP", "revoked-jp")])
    sandbox.state.set_faults("revoked-jp", [{"lwa": "invalid_grant"}])

    # When the job runs
    enqueued = producer.enqueue_user("u-auth")
    record = wait_for(lambda: finished(enqueued.job_id))

    # Then the job completed, JP is auth_error after one token request, without retries
    assert record.status == "completed"
    assert record.attempts == 1
    statuses = {a.country: (a.status, a.error.type if a.error else None) for a in record.accounts}
    assert statuses == {"JP": ("auth_error", "AccountAuthError"), "US": ("completed", None)}
    jp = SellerAccount.objects.get(user_id="u-auth", country="JP")
    assert jp.status == "auth_error" and "invalid_grant" in jp.last_error
    assert sandbox.state.get_stats()["revoked-jp"]["lwaToken"]["failed"] == 1
    assert "getOrders" not in sandbox.state.get_stats()["revoked-jp"]


def test_a_body_that_is_not_json_fails_the_account_with_a_clear_error(
    broker, worker, make_user, sandbox, producer
):
    # Given an account whose getOrders answers 200 with a body that is not JSON
    make_user("u-garbage", [("US", "garbage-us")])
    sandbox.state.set_faults("garbage-us", [{"operation": "getOrders", "malformed": True}])

    # When the job runs
    enqueued = producer.enqueue_user("u-garbage")
    record = wait_for(lambda: finished(enqueued.job_id))

    # Then the job failed without job-level retries (the same answer would come back), saying why
    assert record.status == "failed"
    assert record.attempts == 1
    assert record.error.type == "PermanentSpApiError"
    assert "getOrders answered a body that is not the documented JSON" in record.error.message


def test_two_enqueues_of_the_same_user_give_one_job(broker, make_user, producer):
    # Given a user with no job
    make_user("u-dedup", [("US", "dedup-us")])

    # When it is enqueued twice
    first = producer.enqueue_user("u-dedup")
    second = producer.enqueue_user("u-dedup")

    # Then the second enqueue returns the first job
    assert not first.deduplicated and second.deduplicated
    assert second.job_id == first.job_id
    assert JobStatus.objects(user_id="u-dedup").count() == 1
    assert broker.client.hlen(f"{broker.namespace}:{PRIORITY_QUEUE_NAME}.msgs") == 1


def test_a_removed_queued_job_never_runs(broker, make_user, sandbox, producer):
    # Given a queued job
    make_user("u-cancel", [("US", "cancel-us")])
    enqueued = producer.enqueue_user("u-cancel")

    # When it is removed, then a worker starts
    assert producer.remove_job(enqueued.job_id).done
    import dramatiq

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        run_jobs(broker, worker)
    finally:
        worker.stop()

    # Then the job never ran: no attempt, no SP-API call
    record = job(enqueued.job_id)
    assert record.status == "cancelled" and record.attempts == 0
    assert "cancel-us" not in sandbox.state.get_stats()
    # And the user can be enqueued again
    assert producer.enqueue_user("u-cancel").job_id != enqueued.job_id


def test_an_unknown_user_is_a_clear_error_and_nothing_is_enqueued(broker, producer):
    with pytest.raises(UnknownUserError, match="no user with id 'ghost'"):
        producer.enqueue_user("ghost")
    assert JobStatus.objects.count() == 0
    assert broker.client.hlen(f"{broker.namespace}:{QUEUE_NAME}.msgs") == 0


def test_a_running_job_that_is_cancelled_stops_before_its_next_account(
    broker, worker, make_user, sandbox, producer
):
    # Given a running job whose first account (DE) answers slowly, both accounts synced before
    make_user("u-stop", [("DE", "stop-de"), ("US", "stop-us")])
    SellerAccount.objects(user_id="u-stop").update(set__orders_cursor=datetime.now(UTC) - timedelta(hours=1))
    sandbox.state.set_faults("stop-de", [{"latencyMs": 300}])
    enqueued = producer.enqueue_user("u-stop")
    wait_for(lambda: "stop-de" in sandbox.state.get_stats())  # DE's first call answered: DE is under way

    # When it is cancelled while DE is being fetched
    assert producer.remove_job(enqueued.job_id).record.cancel_requested

    # Then DE finishes, US is never fetched, and the job ends cancelled
    record = wait_for(lambda: finished(enqueued.job_id))
    assert record.status == "cancelled" and record.cancelled_at is not None
    assert [(a.country, a.status) for a in record.accounts] == [("DE", "completed"), ("US", "pending")]
    assert "stop-us" not in sandbox.state.get_stats()
    # And the user is free for its next job
    assert not producer.enqueue_user("u-stop").deduplicated


def test_a_job_whose_message_expired_fails_saying_so_and_frees_its_user(
    broker, worker, make_user, sandbox, producer
):
    # Given a job whose message has waited longer than AgeLimit allows (25 hours)
    from actors import process_user
    from actors.queue import DramatiqJobQueue
    from services.jobs.producer import JobProducer

    class StaleQueue(DramatiqJobQueue):
        def message(self, job_id, user_id, trigger, **options):
            old = super().message(job_id, user_id, trigger, **options)
            return old.copy(message_timestamp=old.message_timestamp - 25 * 3_600_000)

    make_user("u-stale", [("US", "stale-us")])
    enqueued = JobProducer(StaleQueue(process_user), producer.settings).enqueue_user("u-stale")

    # When a worker takes it
    record = wait_for(lambda: finished(enqueued.job_id))

    # Then it never ran, failed with the reason, and the user can be enqueued again
    assert record.status == "failed" and record.attempts == 0
    assert record.error.type == "JobExpired" and "24 h" in record.error.message
    assert "stale-us" not in sandbox.state.get_stats()
    assert not producer.enqueue_user("u-stale").deduplicated
