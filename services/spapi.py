"""Fetch one seller account's data from SP-API and upsert it by natural key.

- Orders (getOrders): incremental by ``LastUpdatedAfter`` from the account's watermark, with a small
  overlap; the first sync reads the last 30 days. Every page is stored before the next is asked for,
  and the watermark advances only after the last page is stored, so an interrupted sync loses nothing
  and a repeat fetch changes nothing.
- Sales (getOrderMetrics): daily rows of the last 30 days (UTC).
- FBA inventory (getInventorySummaries): every page; SKUs that Amazon no longer lists are removed.
- Per-SKU sales velocity (getOrderMetrics, granularity Total, ``sku=``) for in-stock SKUs, refreshed at
  most once a day: what "low stock" needs, at a fraction of the cost of reading every order's items.

A job that stops in the middle (a quota wait handed back to the broker, a transient failure, a dead
worker) resumes from :class:`FetchProgress`: the steps already finished are not repeated, and the
orders listing goes on from the page after the last one stored, with the same window and next token
(getOrders is the scarcest quota: one request a minute after the burst).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import redis
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError
from sp_api.base import Granularity

from models import InventoryItem, Order, SalesMetric, SellerAccount
from services.forward_only import moving_forward
from services.redis_pool import key
from services.settings import Settings
from services.spapi_client import AccountClients, NextTokenRejected

logger = logging.getLogger(__name__)

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
#: Velocity figures written per bulk write.
VELOCITY_WRITE_BATCH = 50
#: Seconds a job's fetch progress outlives its last write (covers every retry's backoff).
PROGRESS_TTL = 7 * 86_400
#: Times one sync starts a listing again after Amazon refused its next token.
MAX_LISTING_RESTARTS = 2
#: The steps of one account's fetch, in order.
STEPS = ("orders", "metrics", "inventory", "velocity")


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


class FetchProgress:
    """How far one job got with one account's fetch: finished steps and the orders listing's place.

    A Redis hash ``<ns>:job:<job_id>:fetch:<account_id>``; without a Redis client it lives in memory
    (one call of :func:`fetch_account`). It belongs to the job: another job starts from the watermark.
    Only the one delivery of the job that is running writes it, so the hash is read once (one
    ``HGETALL`` on first use) and then kept beside the writes, not read again for every step.
    """

    def __init__(
        self, client: redis.Redis | None = None, settings: Settings | None = None, *parts: object
    ) -> None:
        self._client = client
        self._key = key(settings, *parts) if client is not None and settings is not None else ""
        self._memory: dict[str, str] | None = {} if client is None else None
        #: The hash's expiry is set with this delivery's first write: PROGRESS_TTL outlives any
        #: delivery (AgeLimit drops a message after a day), so the later writes need not renew it.
        self._expires = False

    @classmethod
    def for_job(cls, client: redis.Redis, settings: Settings, job_id: str, account_id: str) -> FetchProgress:
        return cls(client, settings, "job", job_id, "fetch", account_id)

    def _values(self) -> dict[str, str]:
        if self._memory is None:
            assert self._client is not None
            stored = self._client.hgetall(self._key)
            self._memory = {k.decode(): v.decode() for k, v in stored.items()}
        return self._memory

    def get(self, name: str) -> str | None:
        return self._values().get(name)

    def set(self, name: str, value: str) -> None:
        self._values()[name] = value
        if self._client is None:
            return
        if self._expires:
            self._client.hset(self._key, name, value)
            return
        pipe = self._client.pipeline()
        pipe.hset(self._key, name, value)
        pipe.expire(self._key, PROGRESS_TTL)
        pipe.execute()
        self._expires = True

    def delete(self, name: str) -> None:
        self._values().pop(name, None)
        if self._client is not None:
            self._client.hdel(self._key, name)

    def clear(self) -> None:
        self._memory = {}
        if self._client is not None:
            self._client.delete(self._key)
            self._expires = False


def fetch_account(
    account: SellerAccount, clients: AccountClients, now: datetime, progress: FetchProgress | None = None
) -> FetchResult:
    """Fetch and store everything the analysis of ``account`` needs, resuming ``progress``.

    Raises :class:`services.errors.QuotaWait` when a quota token is far off: ``progress`` then says
    where to go on.
    """
    progress = progress or FetchProgress()
    steps = {
        "orders": lambda: sync_orders(account, clients, now, progress),
        "metrics": lambda: sync_metrics(account, clients, now),
        "inventory": lambda: sync_inventory(account, clients, now),
        "velocity": lambda: sync_velocity(account, clients, now),
    }
    counts: dict[str, int] = {}
    for step in STEPS:
        done = progress.get(f"done:{step}")
        if done is None:
            counts[step] = steps[step]()
            if step != STEPS[-1]:  # after the last step the progress is cleared at once
                progress.set(f"done:{step}", str(counts[step]))
        else:
            counts[step] = int(done)
    progress.clear()
    return FetchResult(counts["orders"], counts["metrics"], counts["inventory"], counts["velocity"])


def sync_orders(
    account: SellerAccount, clients: AccountClients, now: datetime, progress: FetchProgress | None = None
) -> int:
    """Incremental getOrders; returns how many orders were stored.

    After each stored page the window, the next token and the count so far are saved in ``progress``;
    a resumed sync goes on from there. A next token Amazon no longer accepts restarts the window.
    """
    progress = progress or FetchProgress()
    saved = _load_listing(progress, account)
    if saved is not None:
        since, before = parse_time(saved["since"]), parse_time(saved["before"])
        next_token, stored = saved.get("next_token"), int(saved.get("stored", 0))
        logger.info("Resuming the orders of account %s after %d orders.", account.label, stored)
    else:
        since = (
            account.orders_cursor - ORDERS_OVERLAP
            if account.orders_cursor
            else now - timedelta(days=FIRST_SYNC_DAYS)
        )
        before, next_token, stored = now - ORDERS_SETTLE, None, 0
    assert since is not None and before is not None
    filters = {
        "LastUpdatedAfter": iso(since),
        "LastUpdatedBefore": iso(before),
        "MarketplaceIds": [account.marketplace_id],
        "MaxResultsPerPage": 100,
    }
    restarts = 0
    while True:
        params = dict(filters, NextToken=next_token) if next_token else filters
        try:
            response = clients.call("getOrders", "orders", "get_orders", expect="Orders", **params)
        except NextTokenRejected:
            if restarts >= MAX_LISTING_RESTARTS:
                raise
            restarts += 1
            logger.info("Amazon refused the orders next token of %s; listing again.", account.label)
            next_token = None
            continue
        stored += _upsert_orders(account, response.payload["Orders"])
        next_token = response.next_token
        if not next_token:
            break
        listing = {"since": iso(since), "before": iso(before), "next_token": next_token, "stored": stored}
        progress.set("orders", json.dumps(listing))
    # Only now that every page is stored may the watermark move; the listing is forgotten first, so
    # a crash in between repeats the window (harmless) rather than resuming it past the watermark.
    progress.delete("orders")
    _move_watermark(account, before)
    return stored


def _move_watermark(account: SellerAccount, before: datetime) -> None:
    """Only forward: an execution that woke up late must not move it back (services.forward_only)."""
    SellerAccount.objects(**moving_forward("orders_cursor", before), id=account.id).update_one(
        set__orders_cursor=before
    )
    account.orders_cursor = before


def _load_listing(progress: FetchProgress, account: SellerAccount) -> dict[str, Any] | None:
    raw = progress.get("orders")
    if raw is None:
        return None
    saved = json.loads(raw)
    before = parse_time(saved.get("before"))
    if before is None or (account.orders_cursor is not None and before <= account.orders_cursor):
        return None  # the watermark has moved past it: that window is stored already
    return saved


def _upsert_orders(account: SellerAccount, orders: list[dict[str, Any]]) -> int:
    """Upsert by (user, marketplace, AmazonOrderId), the orders' unique index: one unordered bulk
    write, each update finding its order through the whole index prefix."""
    if not orders:
        return 0
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in orders:
        natural = (raw.get("MarketplaceId") or account.marketplace_id, raw["AmazonOrderId"])
        rows[natural] = _order_fields(raw)
    operations = [
        UpdateOne(
            {"user_id": account.user_id, "marketplace_id": marketplace, "amazon_order_id": order_id},
            {"$set": fields},
            upsert=True,
        )
        for (marketplace, order_id), fields in rows.items()
    ]
    collection = Order._get_collection()
    try:
        collection.bulk_write(operations, ordered=False)
    except BulkWriteError as exc:
        # Two upserts of one new order raced (a redelivered message beside its first delivery): the
        # loser's E11000 means the order now exists, so its update is simply run again.
        errors = exc.details.get("writeErrors", [])
        if not errors or any(e.get("code") != 11000 for e in errors):
            raise
        collection.bulk_write([operations[e["index"]] for e in errors], ordered=False)
    return len(rows)


def _order_fields(raw: dict[str, Any]) -> dict[str, Any]:
    total = raw.get("OrderTotal") or {}
    return {
        "purchase_date": parse_time(raw["PurchaseDate"]),
        "last_update_date": parse_time(raw["LastUpdateDate"]),
        "status": raw["OrderStatus"],
        "fulfillment_channel": raw.get("FulfillmentChannel"),
        "total_amount": total.get("Amount"),
        "currency": total.get("CurrencyCode"),
        "items_shipped": int(raw.get("NumberOfItemsShipped") or 0),
        "items_unshipped": int(raw.get("NumberOfItemsUnshipped") or 0),
    }


def order_metrics(clients: AccountClients, start, end, granularity: Granularity, **filters: Any):
    """One getOrderMetrics call over [start, end) in UTC (daily rows, or one total per SKU)."""
    return clients.call(
        "getOrderMetrics",
        "sales",
        "get_order_metrics",
        expect=list,
        interval=(iso(start), iso(end)),
        granularity=granularity,
        granularityTimeZone="UTC",
        **filters,
    )


def sync_metrics(account: SellerAccount, clients: AccountClients, now: datetime) -> int:
    """Daily getOrderMetrics of the last 30 days; returns how many days were stored."""
    start, end = metrics_window(now.astimezone(UTC).date())
    response = order_metrics(clients, start, end, Granularity.DAY)
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
    seen, restarts = 0, 0
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
            seen, next_token = 0, None
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
    # The figures are written in batches, not one update per SKU: that round trip was half of a first
    # sync's velocity step (profile of bench.freshness). A batch is flushed on the way out too, so a
    # quota wait or a failure keeps every figure already fetched.
    pending: list[UpdateOne] = []
    try:
        for item in items:
            if item.units_30d_at is not None and item.units_30d_at >= stale_before:
                continue
            response = order_metrics(clients, start, end, Granularity.TOTAL, sku=item.seller_sku)
            units = sum(int(row.get("unitCount") or 0) for row in response.payload)
            pending.append(UpdateOne({"_id": item.id}, {"$set": {"units_30d": units, "units_30d_at": now}}))
            refreshed += 1
            if len(pending) >= VELOCITY_WRITE_BATCH:
                _write_velocity(pending)
    finally:
        _write_velocity(pending)
    return refreshed


def _write_velocity(pending: list[UpdateOne]) -> None:
    if pending:
        InventoryItem._get_collection().bulk_write(pending, ordered=False)
        pending.clear()
