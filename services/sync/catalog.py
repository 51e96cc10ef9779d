"""Sales metrics, FBA inventory and per-SKU sales velocity of one seller account, upserted by key.

- Sales (getOrderMetrics): daily rows of the last 30 days (UTC).
- FBA inventory (getInventorySummaries): every page; SKUs that Amazon no longer lists are removed.
- Per-SKU sales velocity (getOrderMetrics, granularity Total, ``sku=``) for in-stock SKUs, refreshed at
  most once a day: what "low stock" needs, at a fraction of the cost of reading every order's items.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from sp_api.base import Granularity

from models import InventoryItem, SalesMetric, SellerAccount
from services.sync.amazon_time import amazon_time, metrics_window, parse_time
from services.sync.analysis import StockLine, stock_of, stored_items
from services.sync.spapi_client import AccountClients
from services.sync.spapi_failures import NextTokenRejected

#: Per-SKU velocity is refreshed when older than this.
VELOCITY_MAX_AGE = timedelta(hours=24)
#: Velocity is read for at most this many SKUs per sync (the most stocked first), to bound the calls.
VELOCITY_MAX_SKUS = 200
#: Velocity figures written per bulk write.
VELOCITY_WRITE_BATCH = 50
#: Times one sync starts a listing again after Amazon refused its next token.
MAX_LISTING_RESTARTS = 2


def order_metrics(clients: AccountClients, start, end, granularity: Granularity, **filters: Any):
    """One getOrderMetrics call over [start, end) in UTC (daily rows, or one total per SKU)."""
    return clients.call(
        "getOrderMetrics",
        "sales",
        "get_order_metrics",
        expect=list,
        interval=(amazon_time(start), amazon_time(end)),
        granularity=granularity,
        granularityTimeZone="UTC",
        **filters,
    )


def sync_metrics(account: SellerAccount, clients: AccountClients, now: datetime) -> list[dict[str, Any]]:
    """Daily getOrderMetrics of the last 30 days; returns the stored fields of each day (the analysis's
    input, which it then need not read back)."""
    start, end = metrics_window(now.astimezone(UTC).date())
    response = order_metrics(clients, start, end, Granularity.DAY)
    rows = [({"interval": row["interval"]}, _metric_fields(row)) for row in response.payload]
    upsert_by_key(SalesMetric, account, rows)
    return [fields for _, fields in rows]


def _metric_fields(row: dict[str, Any]) -> dict[str, Any]:
    sales = row.get("totalSales") or {}
    return {
        "day": parse_time(row["interval"].split("--")[0]),
        "unit_count": int(row.get("unitCount") or 0),
        "order_item_count": int(row.get("orderItemCount") or 0),
        "order_count": int(row.get("orderCount") or 0),
        "total_sales": str(sales.get("amount", "0")),
        "currency": sales.get("currencyCode"),
    }


def upsert_by_key(document: type, account: SellerAccount, rows: list[tuple[dict, dict]]) -> int:
    """Upsert the account's ``(key, fields)`` rows in one unordered bulk write; returns how many.

    Each key is completed with the account's user and marketplace: the document's unique index, whose
    whole prefix every update then uses.
    """
    operations = [
        UpdateOne(
            {"user_id": account.user_id, "marketplace_id": account.marketplace_id, **key},
            {"$set": fields},
            upsert=True,
        )
        for key, fields in rows
    ]
    if operations:
        document._get_collection().bulk_write(operations, ordered=False)
    return len(operations)


def sync_inventory(account: SellerAccount, clients: AccountClients, now: datetime) -> list[StockLine]:
    """Every page of getInventorySummaries; returns the listed SKUs' stock (without their velocity)."""
    seen: list[StockLine] = []
    restarts = 0
    next_token: str | None = None
    while True:
        params: dict[str, Any] = {"details": True}
        if next_token:
            params["nextToken"] = next_token
        try:
            response = clients.call(
                "getInventorySummaries",
                "inventories",
                "get_inventory_summary_marketplace",
                expect="inventorySummaries",
                **params,
            )
        except NextTokenRejected:
            # Inventory next tokens live 30 s: a long retry in between outlives them. Rows already
            # stored are upserted again, and nothing is deleted until one listing is complete.
            if restarts >= MAX_LISTING_RESTARTS:
                raise
            restarts += 1
            seen, next_token = [], None
            continue
        summaries = response.payload["inventorySummaries"]
        seen += _upsert_inventory(account, summaries, now)
        next_token = response.next_token
        if not next_token:
            break
    # The listing is complete: SKUs it no longer names are gone from the marketplace.
    InventoryItem.objects(
        user_id=account.user_id, marketplace_id=account.marketplace_id, synced_at__lt=now
    ).delete()
    return seen


def _upsert_inventory(
    account: SellerAccount, summaries: list[dict[str, Any]], now: datetime
) -> list[StockLine]:
    rows = [({"seller_sku": raw["sellerSku"]}, _inventory_fields(raw, now)) for raw in summaries]
    upsert_by_key(InventoryItem, account, rows)
    return [StockLine(key["seller_sku"], fields["sellable_quantity"], None) for key, fields in rows]


def _inventory_fields(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    details = raw.get("inventoryDetails") or {}
    inbound = sum(
        int(details.get(k) or 0)
        for k in ("inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")
    )
    return {
        "asin": raw.get("asin"),
        "fn_sku": raw.get("fnSku"),
        "product_name": raw.get("productName"),
        "condition": raw.get("condition"),
        "total_quantity": int(raw.get("totalQuantity") or 0),
        "sellable_quantity": int(details.get("fulfillableQuantity") or 0),
        "inbound_quantity": inbound,
        "reserved_quantity": int((details.get("reservedQuantity") or {}).get("totalReservedQuantity") or 0),
        "unfulfillable_quantity": int(
            (details.get("unfulfillableQuantity") or {}).get("totalUnfulfillableQuantity") or 0
        ),
        "last_updated": parse_time(raw.get("lastUpdatedTime")),
        "synced_at": now,
    }


def sync_velocity(account: SellerAccount, clients: AccountClients, now: datetime) -> list[StockLine]:
    """Units sold in 30 days per in-stock SKU whose figure is missing or older than a day; returns the
    account's whole stock with the figures as they now are (what the analysis reads otherwise).

    The account's items are read once, all of them with the fields the analysis needs; the SKUs to
    refresh are picked from them (the most stocked first, at most VELOCITY_MAX_SKUS).
    """
    stale_before = now - VELOCITY_MAX_AGE
    items = stored_items({"user_id": account.user_id, "marketplace_id": account.marketplace_id})
    in_stock = sorted(
        (i for i in items if (i.get("sellable_quantity") or 0) > 0), key=lambda i: -i["sellable_quantity"]
    )
    start, end = metrics_window(now.astimezone(UTC).date())
    # The figures are written in batches, not one update per SKU: that round trip was half of a first
    # sync's velocity step (profile of bench.freshness). A batch is flushed on the way out too, so a
    # quota wait or a failure keeps every figure already fetched.
    pending: list[UpdateOne] = []
    try:
        for item in in_stock[:VELOCITY_MAX_SKUS]:
            refreshed_at = item.get("units_30d_at")
            if refreshed_at is not None and _aware(refreshed_at) >= stale_before:
                continue
            response = order_metrics(clients, start, end, Granularity.TOTAL, sku=item["seller_sku"])
            units = sum(int(row.get("unitCount") or 0) for row in response.payload)
            pending.append(
                UpdateOne({"_id": item["_id"]}, {"$set": {"units_30d": units, "units_30d_at": now}})
            )
            item["units_30d"] = units
            if len(pending) >= VELOCITY_WRITE_BATCH:
                _write_velocity(pending)
    finally:
        _write_velocity(pending)
    return stock_of(items)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _write_velocity(pending: list[UpdateOne]) -> None:
    if pending:
        InventoryItem._get_collection().bulk_write(pending, ordered=False)
        pending.clear()
