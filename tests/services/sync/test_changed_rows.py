"""An hourly sync writes only the metric days and the SKUs that changed, and removes the SKUs gone."""

from __future__ import annotations

from models import InventoryItem
from services.sync.processing import process_user_data
from tests.support.amazon import fba_summary


def _inventory(sandbox, *summaries) -> None:
    sandbox.state.set_data("rows-us", {"orders": [], "inventory": list(summaries)})


def test_an_hourly_sync_writes_only_what_changed_and_removes_the_skus_gone(
    make_user, sandbox, settings, mongo_commands
):
    # Given an account with three SKUs, synced once
    _inventory(sandbox, fba_summary("SKU-A", 4), fba_summary("SKU-B", 20), fba_summary("SKU-C", 0))
    make_user("u-rows", [("US", "rows-us")])
    process_user_data("u-rows", settings=settings)

    # When Amazon then lists SKU-A with 3 units, SKU-B as before, SKU-C no more, and the account syncs
    _inventory(sandbox, fba_summary("SKU-A", 3), fba_summary("SKU-B", 20))
    mongo_commands.counts.clear()
    process_user_data("u-rows", settings=settings)

    # Then the stored stock is Amazon's, in one write of the changed SKU and one removal
    stored = {i.seller_sku: i.sellable_quantity for i in InventoryItem.objects(user_id="u-rows")}
    assert stored == {"SKU-A": 3, "SKU-B": 20}
    assert mongo_commands.counts["update inventory"] == 1 and mongo_commands.counts["delete inventory"] == 1
    # And the metrics, the same 30 days as an hour before, were not written again
    assert mongo_commands.counts["update sales_metrics"] == 0

    # When nothing changes and it syncs again
    mongo_commands.counts.clear()
    process_user_data("u-rows", settings=settings)

    # Then it writes no inventory and removes nothing
    assert mongo_commands.counts["update inventory"] == 0 and mongo_commands.counts["delete inventory"] == 0
    assert InventoryItem.objects(user_id="u-rows").count() == 2
