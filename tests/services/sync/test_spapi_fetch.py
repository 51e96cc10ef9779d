"""Fetching through the real client against the sandbox: throttling, failures, paging, incremental sync."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, timedelta

from sp_api.auth import access_token_client as lwa_module
from sp_api.auth._core import build_cache_key

from models import Order, SellerAccount
from services.operations.accounts import connect_account
from services.operations.demo import sandbox_token
from services.sync.fetch import ORDERS_OVERLAP
from services.sync.processing import process_user_data
from tests.services.helpers import book, first_sync_orders
from tests.support import finished, wait_for


def test_a_429_storm_on_one_seller_fetches_every_order_and_is_rejected_only_by_the_storm(
    broker, worker, make_user, sandbox, producer
):
    # Given a seller with 31 pages of orders (11 more than getOrders' burst of 20, so the quota paces
    # the fetch) and a storm of 429s on every operation it uses
    sandbox.state.set_profile("storm-us", {"orders": 3000, "skus": 8, "days": 29})
    storm = {"getOrders": 6, "getOrderMetrics": 4, "getInventorySummaries": 2}
    sandbox.state.set_faults(
        "storm-us", [{"operation": op, "status": 429, "times": n} for op, n in storm.items()]
    )
    make_user("u-storm", [("US", "storm-us")])

    # When the user's job runs
    enqueued = producer.enqueue_user("u-storm")
    record = wait_for(lambda: finished(enqueued.job_id), timeout=90)

    # Then it completed in its first attempt, with every order stored once
    assert record.status == "completed", record.error
    assert record.attempts == 1
    stored = {o.amazon_order_id for o in Order.objects(user_id="u-storm").only("amazon_order_id")}
    cursor = SellerAccount.objects.get(user_id="u-storm").orders_cursor.replace(tzinfo=UTC)
    # (an order whose status changed in the last 2 minutes belongs to the next sync's window, so a few
    # of the 3,000 may be missing from the first, and none of today's may exist yet just after midnight)
    assert stored == first_sync_orders(sandbox, "storm-us", cursor) and len(stored) >= 2970
    assert record.accounts[0].orders_fetched == len(stored)
    # And the sandbox rejected exactly the injected 429s: each costs one request, and after each the
    # emptied bucket makes every caller wait a whole refill (doubling), so our pacing adds none.
    stats = sandbox.state.get_stats()["storm-us"]
    assert {op: stats[op]["throttled"] for op in storm} == storm
    assert stats["getOrders"]["served"] == math.ceil(len(stored) / 100)  # no page asked for twice


def test_500_503_504_resets_and_timeouts_are_retried_and_end_in_success(make_user, sandbox, settings):
    # Given an account whose calls fail transiently in every way, and a 0.5 s call timeout
    make_user("u-flaky", [("US", "flaky-us")])
    sandbox.state.set_faults(
        "flaky-us",
        [
            {"operation": "getOrders", "status": 500, "times": 1},
            {"operation": "getOrders", "status": 503, "times": 1},
            {"operation": "getOrderMetrics", "status": 504, "times": 1},
            {"operation": "getOrderMetrics", "reset": True, "times": 1},
            {"operation": "getInventorySummaries", "latencyMs": 1500, "times": 1},
        ],
    )
    fast = replace(settings, sp_api_timeout_seconds=0.5)

    # When it is synced
    result = process_user_data("u-flaky", settings=fast)

    # Then the account completed, each failure having cost exactly one extra try
    assert result.completed == ["na/US"]
    stats = sandbox.state.get_stats()["flaky-us"]
    assert stats["getOrders"]["failed"] == 2 and stats["getOrders"]["served"] >= 1
    assert stats["getOrderMetrics"]["failed"] == 2
    # the timed-out inventory request is answered after the client has gone: served twice
    wait_for(lambda: sandbox.state.get_stats()["flaky-us"]["getInventorySummaries"]["served"] == 2, 5)
    assert Order.objects(user_id="u-flaky").count() > 0
    assert SellerAccount.objects.get(user_id="u-flaky").last_error is None


def test_5000_orders_over_50_pages_are_fetched_then_the_next_sync_fetches_only_the_changed(
    make_user, sandbox, sandbox_clock, settings
):
    # Given a seller with 5,000 orders in the last 29 days (plus today's)
    sandbox.state.set_profile("big-us", {"orders": 5000, "skus": 10, "days": 29})
    make_user("u-big", [("US", "big-us")])

    # When it is synced for the first time
    first = process_user_data("u-big", settings=settings, clock=sandbox_clock)

    # Then every order of the window is stored, in one request per page of 100
    assert first.completed == ["na/US"]
    cursor = SellerAccount.objects.get(user_id="u-big").orders_cursor.replace(tzinfo=UTC)
    expected = first_sync_orders(sandbox, "big-us", cursor)
    stored = {o.amazon_order_id for o in Order.objects(user_id="u-big").only("amazon_order_id")}
    # (orders updated in the last 2 minutes belong to the next window: a few may be missing here)
    assert stored == expected and len(stored) >= 4950
    pages = sandbox.state.get_stats()["big-us"]["getOrders"]["served"]
    assert pages == math.ceil(len(stored) / 100) >= 50

    # When six hours pass (orders ship, new ones arrive) and it is synced again
    sandbox_clock.offset = timedelta(hours=6)
    second = process_user_data("u-big", settings=settings, clock=sandbox_clock)

    # Then only the orders updated since the watermark (minus the overlap) were fetched
    assert second.completed == ["na/US"]
    new_cursor = SellerAccount.objects.get(user_id="u-big").orders_cursor.replace(tzinfo=UTC)
    later = new_cursor + timedelta(minutes=2)
    changed = {
        o.order_id
        for o in book(sandbox, "big-us", new_cursor)
        if cursor - ORDERS_OVERLAP <= o.state(later)[1] <= new_cursor
    }
    assert 0 < len(changed) < len(stored) / 10
    record_fetched = sandbox.state.get_stats()["big-us"]["getOrders"]["served"] - pages
    assert record_fetched == math.ceil(len(changed) / 100)
    assert Order.objects(user_id="u-big").count() == len(stored | changed)
    shipped = Order.objects(user_id="u-big", amazon_order_id__in=list(changed), status="Shipped").count()
    assert shipped == sum(
        1 for o in book(sandbox, "big-us", later) if o.order_id in changed and o.state(later)[0] == "Shipped"
    )


def test_invalid_grant_marks_auth_error_after_one_token_request_and_reauthorising_clears_it(
    make_user, sandbox, settings
):
    # Given an account whose refresh token Amazon no longer accepts
    make_user("u-grant", [("US", "grant-us")])
    sandbox.state.set_faults("grant-us", [{"lwa": "invalid_grant"}])

    # When it is synced twice
    first = process_user_data("u-grant", settings=settings)
    second = process_user_data("u-grant", settings=settings)

    # Then it is auth_error with the reason after exactly one token request, and no SP-API call
    assert first.auth_errors == ["na/US"] and second.completed == second.auth_errors == []
    account = SellerAccount.objects.get(user_id="u-grant")
    assert account.status == "auth_error" and "invalid_grant" in account.last_error
    stats = sandbox.state.get_stats()["grant-us"]
    assert stats == {"lwaToken": {"served": 0, "throttled": 0, "failed": 1}}

    # When the seller authorises us again
    sandbox.state.set_faults("grant-us", [])
    connect_account("u-grant", "US", sandbox_token("grant-us"), settings=settings)

    # Then the error is gone and the next sync completes
    account.reload()
    assert account.status == "active" and account.last_error is None
    assert process_user_data("u-grant", settings=settings).completed == ["na/US"]


def test_a_403_marks_auth_error_and_forgets_the_cached_access_token(make_user, sandbox, settings):
    # Given an account whose access token works for the LWA exchange but is then refused (403)
    make_user("u-403", [("US", "forbidden-us")])
    sandbox.state.set_faults("forbidden-us", [{"operation": "getOrders", "status": 403, "times": 1}])

    # When it is synced
    result = process_user_data("u-403", settings=settings)

    # Then it is auth_error after one getOrders call (not retried), and its access token is forgotten
    assert result.auth_errors == ["na/US"]
    stats = sandbox.state.get_stats()["forbidden-us"]
    assert stats["getOrders"] == {"served": 0, "throttled": 0, "failed": 1}
    assert build_cache_key(sandbox_token("forbidden-us")) not in lwa_module.cache

    # And after re-authorisation the next sync asks LWA for a new access token and completes
    connect_account("u-403", "US", sandbox_token("forbidden-us"), settings=settings)
    assert process_user_data("u-403", settings=settings).completed == ["na/US"]
    assert sandbox.state.get_stats()["forbidden-us"]["lwaToken"]["served"] == 2


def test_a_first_sync_over_orders_already_stored_keeps_one_of_each_with_its_newest_state(
    make_user, sandbox, sandbox_clock, settings
):
    # Given a seller whose 300 orders were synced, then six hours pass (orders ship) and the account
    # loses its watermark (connected again): its next sync is a first one, over orders it has
    sandbox.state.set_profile("again-us", {"orders": 300, "skus": 3, "days": 29})
    make_user("u-again", [("US", "again-us")])
    process_user_data("u-again", settings=settings, clock=sandbox_clock)
    before = {o.amazon_order_id: o.status for o in Order.objects(user_id="u-again")}
    sandbox_clock.offset = timedelta(hours=6)
    SellerAccount.objects(user_id="u-again").update_one(unset__orders_cursor=True)

    # When it is synced again
    again = process_user_data("u-again", settings=settings, clock=sandbox_clock)

    # Then every order is stored once, each with the state the sandbox now gives it
    assert again.completed == ["na/US"]
    cursor = SellerAccount.objects.get(user_id="u-again").orders_cursor.replace(tzinfo=UTC)
    later = cursor + timedelta(minutes=2)
    stored = {o.amazon_order_id: o.status for o in Order.objects(user_id="u-again")}
    assert len(stored) == Order.objects(user_id="u-again").count() >= len(before)
    now_states = {o.order_id: o.state(later)[0] for o in book(sandbox, "again-us", cursor)}
    changed = [order_id for order_id in before if now_states.get(order_id) != before[order_id]]
    assert changed and all(stored[order_id] == now_states[order_id] for order_id in changed)
