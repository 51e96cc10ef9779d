"""Orders v0: ``getOrders`` and ``getOrderItems``."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

import falcon

from sandbox.cursors import Cursor
from sandbox.errors import ApiError, invalid_input
from sandbox.marketplaces import MARKETPLACES
from sandbox.params import datetime_param, int_param, list_param, marketplace_ids, text_param
from sandbox.resources import StateResource
from sandbox.state import SandboxState
from sandbox.timefmt import iso_z

#: Amazon refuses a ``*Before`` later than this long before now.
MIN_AGE = timedelta(minutes=2)
MAX_MARKETPLACES = 50
MAX_ORDER_IDS = 50


@dataclass
class OrdersQuery:
    """A validated getOrders query. ``mode`` is "Created" or "LastUpdated"."""

    marketplaces: list[str]
    mode: str
    after: datetime | None
    before: datetime
    statuses: list[str]
    channels: list[str]
    order_ids: list[str]

    @classmethod
    def from_request(cls, req: falcon.Request, now: datetime) -> OrdersQuery:
        ids = marketplace_ids(req)
        if len(ids) > MAX_MARKETPLACES:
            raise invalid_input(f"MarketplaceIds accepts at most {MAX_MARKETPLACES} values")
        created = datetime_param(req, "CreatedAfter"), datetime_param(req, "CreatedBefore")
        updated = datetime_param(req, "LastUpdatedAfter"), datetime_param(req, "LastUpdatedBefore")
        order_ids = list_param(req, "AmazonOrderIds")
        if len(order_ids) > MAX_ORDER_IDS:
            raise invalid_input(f"AmazonOrderIds accepts at most {MAX_ORDER_IDS} values")
        if any(created) and any(updated):
            raise invalid_input(
                "CreatedAfter/CreatedBefore cannot be combined with LastUpdatedAfter/LastUpdatedBefore"
            )
        mode, (after, before) = ("LastUpdated", updated) if any(updated) else ("Created", created)
        if after is None and not order_ids:
            raise invalid_input(
                f"{mode}After is required (or CreatedAfter, LastUpdatedAfter or AmazonOrderIds)"
            )
        latest = now - MIN_AGE
        if before is None:
            before = latest
        elif before > latest:
            raise invalid_input(f"{mode}Before must be at least 2 minutes before the time of the request")
        if after is not None and after > before:
            raise invalid_input(f"{mode}After must be before {mode}Before")
        statuses, channels = list_param(req, "OrderStatuses"), list_param(req, "FulfillmentChannels")
        return cls(ids, mode, after, before, statuses, channels, order_ids)

    def keeps(self, view: dict) -> bool:
        return (
            (not self.statuses or view["OrderStatus"] in self.statuses)
            and (not self.channels or view.get("FulfillmentChannel") in self.channels)
            and (not self.order_ids or view["AmazonOrderId"] in self.order_ids)
        )


def search(state: SandboxState, seller: str, query: OrdersQuery, now: datetime) -> list[dict]:
    """The matching orders as of now, sorted by the query's date (then id)."""
    views = []
    sort_key = "PurchaseDate" if query.mode == "Created" else "LastUpdateDate"
    for marketplace_id in query.marketplaces:
        book = state.sellers.orders(seller, marketplace_id, now)
        if query.after is None:  # AmazonOrderIds alone
            candidates = [book.by_id[i] for i in query.order_ids if i in book.by_id]
            candidates = [o for o in candidates if o.purchase <= query.before]
        elif query.mode == "Created":
            low = bisect.bisect_left(book.purchases, query.after)
            high = bisect.bisect_right(book.purchases, query.before)
            candidates = book.orders[low:high]
        else:
            # LastUpdateDate >= PurchaseDate, so orders bought after `before` cannot match.
            high = bisect.bisect_right(book.purchases, query.before)
            candidates = [o for o in book.orders[:high] if query.after <= o.state(now)[1] <= query.before]
        views.extend(v for v in (o.render(now) for o in candidates) if query.keeps(v))
    views.sort(key=lambda v: (v[sort_key], v["AmazonOrderId"]))
    return views


class OrdersResource(StateResource):
    operation = "getOrders"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        seller, now = req.context.seller, self._state.now()
        owner = (seller, self.operation)
        size = int_param(req, "MaxResultsPerPage", 100, 1, 100)
        token = text_param(req, "NextToken")
        if token:
            # The library resends the first page's filters with the token: the token wins.
            cursor = self._state.cursors.redeem(token, owner, now)
            if cursor is None:
                raise invalid_input("NextToken is invalid or expired")
        else:
            query = OrdersQuery.from_request(req, now)
            rows = search(self._state, seller, query, now)
            cursor = Cursor(owner, rows, 0, now, {f"{query.mode}Before": iso_z(query.before)})
        end = cursor.offset + size
        payload: dict = {"Orders": cursor.rows[cursor.offset : end]}
        if end < len(cursor.rows):
            payload["NextToken"] = self._state.cursors.issue(
                Cursor(owner, cursor.rows, end, now, cursor.extra)
            )
        payload.update(cursor.extra)
        resp.media = {"payload": payload}


class OrderItemsResource(StateResource):
    operation = "getOrderItems"

    def on_get(self, req: falcon.Request, resp: falcon.Response, order_id: str) -> None:
        seller, now = req.context.seller, self._state.now()
        order = self._find(seller, order_id, req, now)
        if order is None:
            raise ApiError(404, message=f"Invalid AmazonOrderId: {order_id}")
        resp.media = {"payload": {"AmazonOrderId": order_id, "OrderItems": order.render_items(now)}}

    def _find(self, seller: str, order_id: str, req: falcon.Request, now: datetime):
        # The library sends the client's marketplace; without one, the id's prefix tells it.
        candidates = [m for key in ("MarketplaceIds", "MarketplaceId") for m in list_param(req, key)]
        candidates = [m for m in candidates if m in MARKETPLACES]
        if not candidates:
            prefix = order_id[:3]
            candidates = [m.id for m in MARKETPLACES.values() if m.order_prefix == prefix] or list(
                MARKETPLACES
            )
        for marketplace_id in candidates:
            order = self._state.sellers.orders(seller, marketplace_id, now).by_id.get(order_id)
            if order is not None and order.purchase <= now:
                return order
        return None
