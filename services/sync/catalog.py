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
from pymongo.errors import BulkWriteError
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
    """Daily getOrderMetrics of the last 30 days, written where they changed; returns the fields of
    each day (the analysis's input, which it then need not read back)."""
    start, end = metrics_window(now.astimezone(UTC).date())
    response = order_metrics(clients, start, end, Granularity.DAY)
    rows = [({"interval": row["interval"]}, _metric_fields(row)) for row in response.payload]
    stored = {}
    if not first_sync(account):
        query = {**_scope(account), "day": {"$gte": start}}
        stored = {d["interval"]: d for d in SalesMetric._get_collection().find(query, {"_id": 0})}
    write_rows(SalesMetric, account, rows, stored, "interval")
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


def first_sync(account: SellerAccount) -> bool:
    """Whether the account's data is synced for the first time (no orders watermark yet).

    A first sync writes its rows without reading the account's stored ones first: there are none,
    unless an earlier first sync stopped before its end. Those few meet the unique index on insert
    and are upserted instead (``write_rows``); SKUs of theirs that the new listing leaves out are
    removed by the next sync, which reads what is stored (no analysis reads the stored stock in
    between: the job's own analyses use the stock it fetched).
    """
    return account.orders_cursor is None


def upsert_by_key(
    document: type, account: SellerAccount, rows: list[tuple[dict, dict]], also: dict | None = None
) -> int:
    """Upsert the account's ``(key, fields)`` rows (and the fields ``also``, the same for every row) in
    one unordered bulk write; returns how many.

    Each key is completed with the account's user and marketplace: the document's unique index, whose
    whole prefix every update then uses.
    """
    also = also or {}
    operations = [
        UpdateOne({**_scope(account), **key}, {"$set": {**fields, **also}}, upsert=True)
        for key, fields in rows
    ]
    if operations:
        document._get_collection().bulk_write(operations, ordered=False)
    return len(operations)


def changed(
    rows: list[tuple[dict, dict]], stored: dict[str, dict], key_field: str
) -> list[tuple[dict, dict]]:
    """The ``(key, fields)`` rows that are not stored, or whose fields differ from the stored ones.

    An hourly sync gets back the same 30 days of metrics and mostly the same stock: upserting every
    row again was 80 % of the embedded document server's time at 300 users (its profiler, in
    bench.freshness's steady state), for one or two rows that changed.
    """
    return [(key, fields) for key, fields in rows if not _same(fields, stored.get(key[key_field]))]


def write_rows(
    document: type,
    account: SellerAccount,
    rows: list[tuple[dict, dict]],
    stored: dict[str, dict],
    key_field: str,
    also: dict | None = None,
) -> None:
    """Write the rows that are new or changed against ``stored`` (the account's rows, by ``key_field``):
    the new ones in one bulk insert (an insert costs a third of an upsert on the embedded document
    server, and skips MongoDB's lookup), the changed ones, and any new one that another execution
    inserted meanwhile, in one bulk upsert."""
    rows = changed(rows, stored, key_field)
    new = [(key, fields) for key, fields in rows if key[key_field] not in stored]
    existing = [(key, fields) for key, fields in rows if key[key_field] in stored]
    if new:
        documents = [{**_scope(account), **key, **fields, **(also or {})} for key, fields in new]
        try:
            document._get_collection().insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            existing += [new[i] for i in duplicates(exc)]
    upsert_by_key(document, account, existing, also)


def duplicates(exc: BulkWriteError) -> list[int]:
    """The positions of a bulk write's duplicate-key failures; re-raises any other failure."""
    errors = exc.details.get("writeErrors", [])
    if not errors or any(e.get("code") != 11000 for e in errors):
        raise exc
    return [e["index"] for e in errors]


def _same(fields: dict[str, Any], document: dict[str, Any] | None) -> bool:
    return document is not None and all(document.get(name) == value for name, value in fields.items())


def _scope(account: SellerAccount) -> dict[str, str]:
    return {"user_id": account.user_id, "marketplace_id": account.marketplace_id}


def sync_inventory(account: SellerAccount, clients: AccountClients, now: datetime) -> list[dict[str, Any]]:
    """Every page of getInventorySummaries, written where it changed; SKUs no longer listed are removed
    (from the second sync on: see ``first_sync``).

    Returns the account's items as they now are (``STOCK_FIELDS``, velocity included), read once
    before the listing (not on a first sync) and brought up to date with it: the velocity step's and
    the analysis's input.
    """
    stored = {}
    if not first_sync(account):
        stored = {d["seller_sku"]: d for d in InventoryItem._get_collection().find(_scope(account))}
    listed: dict[str, dict[str, Any]] = {}
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
            # written stay, and nothing is deleted until one listing is complete.
            if restarts >= MAX_LISTING_RESTARTS:
                raise
            restarts += 1
            listed, next_token = {}, None
            continue
        summaries = response.payload["inventorySummaries"]
        rows = [({"seller_sku": raw["sellerSku"]}, _inventory_fields(raw)) for raw in summaries]
        # synced_at: when the row last changed (not compared: it would make every row a change)
        write_rows(InventoryItem, account, rows, stored, "seller_sku", also={"synced_at": now})
        listed.update((key["seller_sku"], fields) for key, fields in rows)
        next_token = response.next_token
        if not next_token:
            break
    # The listing is complete: SKUs it no longer names are gone from the marketplace.
    gone = [d["_id"] for sku, d in stored.items() if sku not in listed]
    if gone:
        InventoryItem._get_collection().delete_many({**_scope(account), "_id": {"$in": gone}})
    return [{**stored.get(sku, {}), **fields, "seller_sku": sku} for sku, fields in listed.items()]


def _inventory_fields(raw: dict[str, Any]) -> dict[str, Any]:
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
    }


def sync_velocity(
    account: SellerAccount, clients: AccountClients, now: datetime, items: list[dict[str, Any]] | None = None
) -> list[StockLine]:
    """Units sold in 30 days per in-stock SKU whose figure is missing or older than a day; returns the
    account's whole stock with the figures as they now are (what the analysis reads otherwise).

    ``items`` are the account's items as the inventory step left them; without them (that step ran
    in an earlier delivery) they are read, once, all of them with the fields the analysis needs. The
    SKUs to refresh are picked from them (the most stocked first, at most VELOCITY_MAX_SKUS).
    """
    stale_before = now - VELOCITY_MAX_AGE
    items = items if items is not None else stored_items(_scope(account))
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
                UpdateOne(
                    {**_scope(account), "seller_sku": item["seller_sku"]},
                    {"$set": {"units_30d": units, "units_30d_at": now}},
                )
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
