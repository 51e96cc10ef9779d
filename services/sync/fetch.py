"""Fetch one seller account's data from SP-API and upsert it by natural key: the orders here, the
rest in services.sync.catalog.

- Orders (getOrders): incremental by ``LastUpdatedAfter`` from the account's watermark, with a small
  overlap; the first sync reads the last 30 days. Every page is stored before the next is asked for,
  and the watermark advances only after the last page is stored (with the account's sync time, in
  one write, by the caller), so an interrupted sync loses nothing and a repeat fetch changes nothing.
- Then sales metrics, FBA inventory and per-SKU velocity (services.sync.catalog).

A job that stops in the middle (a quota wait handed back to the broker, a transient failure, a dead
worker) resumes from :class:`FetchProgress`: the steps already finished are not repeated, and the
orders listing goes on from the page after the last one stored, with the same window and next token
(getOrders is the scarcest quota: one request a minute after the burst).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from models import Order, SellerAccount
from services.sync.amazon_time import amazon_time, parse_time
from services.sync.analysis import StockLine
from services.sync.catalog import (
    MAX_LISTING_RESTARTS,
    duplicates,
    first_sync,
    sync_inventory,
    sync_metrics,
    sync_velocity,
)
from services.sync.progress import FetchProgress
from services.sync.spapi_client import AccountClients
from services.sync.spapi_failures import NextTokenRejected

logger = logging.getLogger(__name__)

#: How far back the first orders sync reads.
FIRST_SYNC_DAYS = 30
#: Re-read this much before the watermark: Amazon's LastUpdateDate index is eventually consistent.
ORDERS_OVERLAP = timedelta(minutes=5)
#: ``*Before`` must be at least 2 minutes before now (Amazon's rule); Amazon's data is complete up to it.
ORDERS_SETTLE = timedelta(minutes=2)


@dataclass
class FetchResult:
    orders_fetched: int = 0
    #: The orders watermark this fetch reached: the caller stores it with the account's sync time
    #: (one write), once the account is analysed. None: the orders step did not finish.
    watermark: datetime | None = None
    #: The metrics rows fetched by this delivery, and the account's stock after its velocity step
    #: (services.sync.analysis.AnalysisInputs); None where an earlier delivery did that step.
    metrics: list[dict[str, Any]] | None = None
    stock: list[StockLine] | None = None
    #: ``(purchase date, status)`` of every order of the account, when this delivery listed them all
    #: (``OrdersListing.orders``); None: the analysis reads them.
    orders: list[tuple[datetime, str]] | None = None


@dataclass
class OrdersListing:
    """What one getOrders listing stored: how many orders, and the watermark they reach.

    ``orders`` holds ``(purchase date, status)`` of each order when the listing is the account's
    first sync, whole in this delivery: its window (30 days back from now) covers every day of the
    analysis window, so these are all the orders the analysis would read back. (An earlier first
    sync that stopped midway may have stored an order since updated in the last two minutes, which
    this listing leaves to the next; the store's copy of it is no fresher.) Otherwise None.
    """

    stored: int
    watermark: datetime
    orders: list[tuple[datetime, str]] | None = None


def fetch_account(
    account: SellerAccount,
    clients: AccountClients,
    now: datetime,
    progress: FetchProgress | None = None,
    items: list[dict[str, Any]] | None = None,
) -> FetchResult:
    """Fetch and store everything the analysis of ``account`` needs, resuming ``progress``.

    ``items`` are the account's inventory items as this delivery's first look left them (its
    inventory step is then done): the velocity step starts from them instead of reading them.

    Raises :class:`services.platform.errors.QuotaWait` when a quota token is far off: ``progress`` then says
    where to go on.
    """
    progress = progress or FetchProgress()
    result = FetchResult()
    orders = progress.get("done:orders")
    if orders is None:
        listing = sync_orders(account, clients, now, progress)
        result.orders_fetched, result.watermark, result.orders = (
            listing.stored,
            listing.watermark,
            listing.orders,
        )
        orders = json.dumps({"stored": result.orders_fetched, "watermark": result.watermark.isoformat()})
        progress.set("done:orders", orders)
    else:
        done = json.loads(orders)
        result.orders_fetched, result.watermark = done["stored"], parse_time(done["watermark"])
    try:  # two quick steps, marked done in one write (before the velocity step, which may wait)
        if progress.get("done:metrics") is None:
            result.metrics = sync_metrics(account, clients, now)
            progress.mark("done:metrics", str(len(result.metrics)))
        if progress.get("done:inventory") is None:
            items = sync_inventory(account, clients, now)
            progress.mark("done:inventory", str(len(items)))
    finally:
        progress.save()
    result.stock = sync_velocity(account, clients, now, items)  # the last step: the progress is cleared next
    progress.clear()
    return result


def sync_orders(
    account: SellerAccount, clients: AccountClients, now: datetime, progress: FetchProgress | None = None
) -> OrdersListing:
    """Incremental getOrders; returns how many orders were stored, and the watermark they reach.

    After each stored page the window, the next token and the count so far are saved in ``progress``;
    a resumed sync goes on from there. A next token Amazon no longer accepts restarts the window.
    The watermark is not written here: the caller stores it once the account is analysed, with
    the account's sync time (services.sync.processing), and keeps it in the progress until then.
    """
    progress = progress or FetchProgress()
    since, before, next_token, stored = _listing_start(progress, account, now)
    filters = {
        "LastUpdatedAfter": amazon_time(since),
        "LastUpdatedBefore": amazon_time(before),
        "MarketplaceIds": [account.marketplace_id],
        "MaxResultsPerPage": 100,
    }
    restarts = 0
    # A first sync's whole listing: each order's purchase date and status (see OrdersListing).
    listed: dict[str, tuple[datetime, str]] | None = (
        {} if first_sync(account) and next_token is None else None
    )
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
        page = response.payload["Orders"]
        stored += _upsert_orders(account, page)
        if listed is not None:
            listed.update(
                (o["AmazonOrderId"], (parse_time(o["PurchaseDate"]), o["OrderStatus"])) for o in page
            )
        next_token = response.next_token
        if not next_token:
            break
        listing = {
            "since": amazon_time(since),
            "before": amazon_time(before),
            "next_token": next_token,
            "stored": stored,
        }
        progress.set("orders", json.dumps(listing))
    progress.delete("orders")
    return OrdersListing(stored, before, list(listed.values()) if listed is not None else None)


def _listing_start(
    progress: FetchProgress, account: SellerAccount, now: datetime
) -> tuple[datetime, datetime, str | None, int]:
    """Where the orders listing starts: ``(since, before, next_token, stored)``, resumed or new."""
    saved = _load_listing(progress, account)
    if saved is not None:
        since, before = parse_time(saved["since"]), parse_time(saved["before"])
        stored = int(saved.get("stored", 0))
        logger.info("Resuming the orders of account %s after %d orders.", account.label, stored)
        assert since is not None and before is not None
        return since, before, saved.get("next_token"), stored
    if account.orders_cursor:
        since = account.orders_cursor - ORDERS_OVERLAP
    else:
        since = now - timedelta(days=FIRST_SYNC_DAYS)
    return since, now - ORDERS_SETTLE, None, 0


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
    """Store a page of orders by (user, marketplace, AmazonOrderId), the orders' unique index.

    An account's first sync (no watermark yet) inserts the page in one unordered bulk insert: its
    orders are new, and an insert costs a third of an upsert on the embedded document server (and
    less on MongoDB too: no lookup before the write). An order that exists after all (a listing
    restarted, an account connected again) meets the unique index, and only those are upserted.
    Later syncs upsert the page, each update finding its order through the whole index prefix.
    """
    if not orders:
        return 0
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in orders:
        natural = (raw.get("MarketplaceId") or account.marketplace_id, raw["AmazonOrderId"])
        rows[natural] = _order_fields(raw)
    keys = [
        {"user_id": account.user_id, "marketplace_id": marketplace, "amazon_order_id": order_id}
        for marketplace, order_id in rows
    ]
    fields = list(rows.values())
    if first_sync(account):
        existing = _insert_new(keys, fields)
        keys, fields = [keys[i] for i in existing], [fields[i] for i in existing]
    if keys:
        _upsert(keys, fields)
    return len(rows)


def _insert_new(keys: list[dict[str, Any]], fields: list[dict[str, Any]]) -> list[int]:
    """Insert the orders; the positions of those that exist already (to be upserted instead)."""
    try:
        Order._get_collection().insert_many(
            [{**k, **f} for k, f in zip(keys, fields, strict=True)], ordered=False
        )
        return []
    except BulkWriteError as exc:
        return duplicates(exc)


def _upsert(keys: list[dict[str, Any]], fields: list[dict[str, Any]]) -> None:
    operations = [UpdateOne(k, {"$set": f}, upsert=True) for k, f in zip(keys, fields, strict=True)]
    collection = Order._get_collection()
    try:
        collection.bulk_write(operations, ordered=False)
    except BulkWriteError as exc:
        # Two upserts of one new order raced (a redelivered message beside its first delivery): the
        # loser's E11000 means the order now exists, so its update is simply run again.
        collection.bulk_write([operations[i] for i in duplicates(exc)], ordered=False)


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
