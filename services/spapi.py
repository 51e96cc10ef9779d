"""Fetch one seller account's data from SP-API and upsert it by natural key.

- Orders (getOrders): incremental by ``LastUpdatedAfter`` from the account's watermark, with a small
  overlap; the first sync reads the last 30 days. Every page is stored before the next is asked for,
  and the watermark advances only after the last page is stored, so an interrupted sync loses nothing
  and a repeat fetch changes nothing.
- Sales (getOrderMetrics): daily rows of the last 30 days (UTC).
- FBA inventory (getInventorySummaries): every page; SKUs that Amazon no longer lists are removed.
- Per-SKU sales velocity (getOrderMetrics, granularity Total, ``sku=``) for in-stock SKUs, refreshed at
  most once a day: what "low stock" needs, at a fraction of the cost of reading every order's items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pymongo import UpdateOne
from sp_api.base import Granularity

from models import InventoryItem, Order, SalesMetric, SellerAccount
from services.spapi_client import AccountClients

#: How far back the first orders sync reads.
FIRST_SYNC_DAYS = 30
#: Re-read this much before the watermark: Amazon's LastUpdateDate index is eventually consistent.
ORDERS_OVERLAP = timedelta(minutes=5)
#: ``*Before`` must be at least 2 minutes before now (REFERENCE.md); Amazon's data is complete up to it.
ORDERS_SETTLE = timedelta(minutes=2)
#: Days of daily sales metrics (and of the analysis window).
METRICS_DAYS = 30
#: Per-SKU velocity is refreshed when older than this.
VELOCITY_MAX_AGE = timedelta(hours=24)
#: Velocity is read for at most this many SKUs per sync (the most stocked first), to bound the calls.
VELOCITY_MAX_SKUS = 200


@dataclass
class FetchResult:
    orders_fetched: int = 0
    metric_days: int = 0
    skus: int = 0
    velocity_skus: int = 0


def parse_time(value: str | None) -> datetime | None:
    """Amazon's ISO 8601 (``2024-01-02T03:04:05Z``, ``2024-01-01T00:00Z``) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metrics_window(today: date) -> tuple[datetime, datetime]:
    """The 30 UTC days ending with ``today`` (today included): [start, end)."""
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    return end - timedelta(days=METRICS_DAYS), end


def fetch_account(account: SellerAccount, clients: AccountClients, now: datetime) -> FetchResult:
    """Fetch and store everything the analysis of ``account`` needs."""
    result = FetchResult()
    result.orders_fetched = sync_orders(account, clients, now)
    result.metric_days = sync_metrics(account, clients, now)
    result.skus = sync_inventory(account, clients, now)
    result.velocity_skus = sync_velocity(account, clients, now)
    return result


def sync_orders(account: SellerAccount, clients: AccountClients, now: datetime) -> int:
    """Incremental getOrders; returns how many orders were stored."""
    since = (
        account.orders_cursor - ORDERS_OVERLAP
        if account.orders_cursor
        else now - timedelta(days=FIRST_SYNC_DAYS)
    )
    before = now - ORDERS_SETTLE
    filters = {
        "LastUpdatedAfter": iso(since),
        "LastUpdatedBefore": iso(before),
        "MarketplaceIds": [account.marketplace_id],
        "MaxResultsPerPage": 100,
    }
    stored = 0
    next_token: str | None = None
    while True:
        params = dict(filters, NextToken=next_token) if next_token else filters
        response = clients.call("getOrders", "orders", "get_orders", expect="Orders", **params)
        orders = response.payload["Orders"]
        stored += _upsert_orders(account, orders)
        next_token = response.next_token
        if not next_token:
            break
    # Only now that every page is stored may the watermark move.
    SellerAccount.objects(id=account.id).update_one(set__orders_cursor=before)
    account.orders_cursor = before
    return stored


def _upsert_orders(account: SellerAccount, orders: list[dict[str, Any]]) -> int:
    if not orders:
        return 0
    operations = []
    for raw in orders:
        total = raw.get("OrderTotal") or {}
        fields = {
            "purchase_date": parse_time(raw["PurchaseDate"]),
            "last_update_date": parse_time(raw["LastUpdateDate"]),
            "status": raw["OrderStatus"],
            "fulfillment_channel": raw.get("FulfillmentChannel"),
            "total_amount": total.get("Amount"),
            "currency": total.get("CurrencyCode"),
            "items_shipped": int(raw.get("NumberOfItemsShipped") or 0),
            "items_unshipped": int(raw.get("NumberOfItemsUnshipped") or 0),
        }
        key = {
            "user_id": account.user_id,
            "marketplace_id": raw.get("MarketplaceId") or account.marketplace_id,
            "amazon_order_id": raw["AmazonOrderId"],
        }
        operations.append(UpdateOne(key, {"$set": fields}, upsert=True))
    Order._get_collection().bulk_write(operations, ordered=False)
    return len(operations)


def sync_metrics(account: SellerAccount, clients: AccountClients, now: datetime) -> int:
    """Daily getOrderMetrics of the last 30 days; returns how many days were stored."""
    start, end = metrics_window(now.astimezone(UTC).date())
    response = clients.call(
        "getOrderMetrics",
        "sales",
        "get_order_metrics",
        expect=list,
        interval=(iso(start), iso(end)),
        granularity=Granularity.DAY,
        granularityTimeZone="UTC",
    )
    operations = []
    for row in response.payload:
        day_start = parse_time(row["interval"].split("--")[0])
        sales = row.get("totalSales") or {}
        fields = {
            "day": day_start,
            "unit_count": int(row.get("unitCount") or 0),
            "order_item_count": int(row.get("orderItemCount") or 0),
            "order_count": int(row.get("orderCount") or 0),
            "total_sales": str(sales.get("amount", "0")),
            "currency": sales.get("currencyCode"),
        }
        key = {
            "user_id": account.user_id,
            "marketplace_id": account.marketplace_id,
            "interval": row["interval"],
        }
        operations.append(UpdateOne(key, {"$set": fields}, upsert=True))
    if operations:
        SalesMetric._get_collection().bulk_write(operations, ordered=False)
    return len(operations)


def sync_inventory(account: SellerAccount, clients: AccountClients, now: datetime) -> int:
    """Every page of getInventorySummaries; returns how many SKUs Amazon listed."""
    seen = 0
    next_token: str | None = None
    while True:
        params: dict[str, Any] = {"details": True}
        if next_token:
            params["nextToken"] = next_token
        response = clients.call(
            "getInventorySummaries",
            "inventories",
            "get_inventory_summary_marketplace",
            expect="inventorySummaries",
            **params,
        )
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


def _upsert_inventory(account: SellerAccount, summaries: list[dict[str, Any]], now: datetime) -> int:
    operations = []
    for raw in summaries:
        details = raw.get("inventoryDetails") or {}
        inbound = sum(
            int(details.get(k) or 0)
            for k in ("inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")
        )
        fields = {
            "asin": raw.get("asin"),
            "fn_sku": raw.get("fnSku"),
            "product_name": raw.get("productName"),
            "condition": raw.get("condition"),
            "total_quantity": int(raw.get("totalQuantity") or 0),
            "sellable_quantity": int(details.get("fulfillableQuantity") or 0),
            "inbound_quantity": inbound,
            "reserved_quantity": int(
                (details.get("reservedQuantity") or {}).get("totalReservedQuantity") or 0
            ),
            "unfulfillable_quantity": int(
                (details.get("unfulfillableQuantity") or {}).get("totalUnfulfillableQuantity") or 0
            ),
            "last_updated": parse_time(raw.get("lastUpdatedTime")),
            "synced_at": now,
        }
        key = {
            "user_id": account.user_id,
            "marketplace_id": account.marketplace_id,
            "seller_sku": raw["sellerSku"],
        }
        operations.append(UpdateOne(key, {"$set": fields}, upsert=True))
    if operations:
        InventoryItem._get_collection().bulk_write(operations, ordered=False)
    return len(operations)


def sync_velocity(account: SellerAccount, clients: AccountClients, now: datetime) -> int:
    """Units sold in 30 days per in-stock SKU whose figure is missing or older than a day."""
    stale_before = now - VELOCITY_MAX_AGE
    items = (
        InventoryItem.objects(
            user_id=account.user_id, marketplace_id=account.marketplace_id, sellable_quantity__gt=0
        )
        .order_by("-sellable_quantity")
        .limit(VELOCITY_MAX_SKUS)
    )
    start, end = metrics_window(now.astimezone(UTC).date())
    refreshed = 0
    for item in items:
        if item.units_30d_at is not None and item.units_30d_at >= stale_before:
            continue
        response = clients.call(
            "getOrderMetrics",
            "sales",
            "get_order_metrics",
            expect=list,
            interval=(iso(start), iso(end)),
            granularity=Granularity.TOTAL,
            granularityTimeZone="UTC",
            sku=item.seller_sku,
        )
        units = sum(int(row.get("unitCount") or 0) for row in response.payload)
        InventoryItem.objects(id=item.id).update_one(set__units_30d=units, set__units_30d_at=now)
        refreshed += 1
    return refreshed
