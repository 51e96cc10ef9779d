"""An account's first sync analyses what it has just fetched and writes it without reading the
account's stored rows first; a first sync after one that stopped midway writes over its rows."""

from __future__ import annotations

from datetime import timedelta

from models import Analysis, InventoryItem, SalesMetric, SellerAccount
from services.sync.analysis import analyse_account
from services.sync.processing import process_user_data
from tests.support.amazon import fba_summary


def test_a_first_sync_analyses_what_it_fetched_as_the_store_would(
    make_user, sandbox, settings, mongo_commands
):
    # Given a seller with 400 orders over 40 days (some cancelled, some before the analysis window)
    sandbox.state.set_profile("window-us", {"orders": 400, "skus": 6, "days": 40})
    make_user("u-window", [("US", "window-us")])
    mongo_commands.counts.clear()

    # When its first sync runs
    process_user_data("u-window", settings=settings)

    # Then it read no stored order, metric or item back
    reads = {name: n for name, n in mongo_commands.counts.items() if name.startswith("find ")}
    assert set(reads) == {"find seller_accounts"}, reads
    # And its KPIs are those of an analysis that reads everything from the store
    account = SellerAccount.objects.get(user_id="u-window")
    stored = Analysis.objects.get(user_id="u-window")
    from_the_store = analyse_account(account, stored.computed_at + timedelta(milliseconds=1))
    assert from_the_store is not None
    assert stored.kpis == from_the_store.kpis
    assert stored.kpis["cancellation_rate_30d"] not in (None, "0.0000")


def test_a_first_sync_after_one_that_stopped_writes_over_its_rows(make_user, sandbox, settings):
    # Given an account whose first sync stopped after its first look (its authorisation was refused
    # at getOrders), then authorised again: its metrics and stock are stored, its orders watermark not
    inventory = [fba_summary("SKU-A", 4), fba_summary("SKU-B", 20)]
    sandbox.state.set_data("again-us", {"orders": [], "inventory": inventory})
    sandbox.state.set_faults("again-us", [{"operation": "getOrders", "status": 403, "times": 1}])
    make_user("u-again-first", [("US", "again-us")])
    assert process_user_data("u-again-first", settings=settings).auth_errors == ["na/US"]
    accounts = SellerAccount.objects(user_id="u-again-first")
    assert accounts.get().orders_cursor is None and accounts.update_one(set__status="active")
    assert InventoryItem.objects(user_id="u-again-first").count() == 2

    # When Amazon then lists SKU-A with 3 units, SKU-B as before and a new SKU-C, and it syncs again
    inventory = [fba_summary("SKU-A", 3), fba_summary("SKU-B", 20), fba_summary("SKU-C", 5)]
    sandbox.state.set_data("again-us", {"orders": [], "inventory": inventory})
    result = process_user_data("u-again-first", settings=settings)

    # Then the first sync completes over the stored rows: each SKU and each day once, as Amazon has them
    assert result.completed == ["na/US"]
    stored = {i.seller_sku: i.sellable_quantity for i in InventoryItem.objects(user_id="u-again-first")}
    assert stored == {"SKU-A": 3, "SKU-B": 20, "SKU-C": 5}
    assert SalesMetric.objects(user_id="u-again-first").count() == 30
