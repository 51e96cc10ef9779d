"""Hand-made seller data (``PUT /_sandbox/sellers/{seller}/data``), so a test can use numbers it
computes by hand.

Body: ``{"orders": [...], "orderMetrics": [...]?, "inventory": [...]?}`` in SP-API shapes. Orders
are served as given (they do not change with the clock, but stay hidden until their PurchaseDate),
each may carry a sandbox-only ``"OrderItems"`` list (getOrderItems shape) that getOrderItems
serves and getOrders strips. An order without ``MarketplaceId`` belongs to every marketplace.
``orderMetrics`` rows (the six-field shape, Hour or Day rows) are re-bucketed by the start of their
interval; without them, metrics are computed from the orders by the rule of ``sandbox.metrics``.
``inventory`` summaries are served for every marketplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sandbox.sellers import CANCELED, PENDING
from sandbox.timefmt import parse_iso

REQUIRED_ORDER_FIELDS = ("AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus")
METRIC_FIELDS = ("interval", "unitCount", "orderItemCount", "orderCount", "averageUnitPrice", "totalSales")


class DataError(ValueError):
    """Custom data that does not validate; the message names the field."""


@dataclass(frozen=True)
class StaticOrder:
    """A hand-made order: same answer whatever the time (once purchased)."""

    raw: dict
    items: tuple[dict, ...] | None
    purchase: datetime
    updated: datetime

    @property
    def order_id(self) -> str:
        return self.raw["AmazonOrderId"]

    @property
    def marketplace_id(self) -> str | None:
        return self.raw.get("MarketplaceId")

    def state(self, now: datetime) -> tuple[str, datetime]:
        return self.raw["OrderStatus"], self.updated

    def render(self, now: datetime) -> dict:
        return dict(self.raw)

    def render_items(self, now: datetime) -> list[dict]:
        return [dict(item) for item in self.items or ()]

    @property
    def is_business(self) -> bool:
        return bool(self.raw.get("IsBusinessOrder"))

    @property
    def fulfillment_channel(self) -> str | None:
        return self.raw.get("FulfillmentChannel")

    def metric(self, now: datetime) -> tuple[Decimal, list[tuple]] | None:
        """(OrderTotal, [(sku, asin, quantity, price)]); without OrderItems, one line of
        NumberOfItemsShipped + NumberOfItemsUnshipped units."""
        if self.raw["OrderStatus"] in (PENDING, CANCELED):
            return None
        total = Decimal(self.raw.get("OrderTotal", {}).get("Amount", "0"))
        if self.items is None:
            units = int(self.raw.get("NumberOfItemsShipped", 0)) + int(
                self.raw.get("NumberOfItemsUnshipped", 0)
            )
            return total, [(None, None, units, total)]
        return total, [
            (
                i.get("SellerSKU"),
                i.get("ASIN"),
                int(i.get("QuantityOrdered", 0)),
                Decimal(i.get("ItemPrice", {}).get("Amount", "0")),
            )
            for i in self.items
        ]


@dataclass(frozen=True)
class MetricRow:
    start: datetime
    units: int
    lines: int
    orders: int
    sales: Decimal
    currency: str


@dataclass(frozen=True)
class CustomData:
    orders: list[StaticOrder]
    metrics: list[MetricRow] | None
    inventory: list[dict]


def _order(raw: object, where: str) -> StaticOrder:
    if not isinstance(raw, dict):
        raise DataError(f"{where} must be an object")
    for name in REQUIRED_ORDER_FIELDS:
        if not isinstance(raw.get(name), str):
            raise DataError(f"{where}.{name} is required (a string)")
    purchase, updated = parse_iso(raw["PurchaseDate"]), parse_iso(raw["LastUpdateDate"])
    if purchase is None or updated is None:
        raise DataError(f"{where}.PurchaseDate and LastUpdateDate must be ISO 8601")
    total = raw.get("OrderTotal")
    if total is not None:
        try:
            Decimal(total["Amount"])
        except (TypeError, KeyError, InvalidOperation):
            raise DataError(f"{where}.OrderTotal.Amount must be a decimal string") from None
    items = raw.get("OrderItems")
    if items is not None and not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
        raise DataError(f"{where}.OrderItems must be a list of objects")
    public = {k: v for k, v in raw.items() if k != "OrderItems"}
    return StaticOrder(public, tuple(items) if items is not None else None, purchase, updated)


def _metric(raw: object, where: str) -> MetricRow:
    if not isinstance(raw, dict) or any(f not in raw for f in METRIC_FIELDS):
        raise DataError(f"{where} needs the fields {', '.join(METRIC_FIELDS)}")
    start = parse_iso(str(raw["interval"]).split("--")[0])
    if start is None:
        raise DataError(f"{where}.interval must be start--end in ISO 8601")
    try:
        sales = Decimal(raw["totalSales"]["amount"])
        currency = raw["totalSales"]["currencyCode"]
        return MetricRow(
            start, int(raw["unitCount"]), int(raw["orderItemCount"]), int(raw["orderCount"]), sales, currency
        )
    except (TypeError, KeyError, ValueError, InvalidOperation):
        raise DataError(f"{where}: counts must be integers and totalSales an amount") from None


def parse_data(body: object) -> CustomData:
    """Validate a data body; raises DataError naming the bad field."""
    if not isinstance(body, dict):
        raise DataError("the body must be a JSON object")
    unknown = sorted(set(body) - {"orders", "orderMetrics", "inventory"})
    if unknown:
        raise DataError(f"unknown field {unknown[0]!r}")
    raw_orders, raw_metrics, inventory = (
        body.get("orders", []),
        body.get("orderMetrics"),
        body.get("inventory", []),
    )
    if not isinstance(raw_orders, list):
        raise DataError("orders must be a list")
    if raw_metrics is not None and not isinstance(raw_metrics, list):
        raise DataError("orderMetrics must be a list")
    if not isinstance(inventory, list) or not all(
        isinstance(s, dict) and "sellerSku" in s for s in inventory
    ):
        raise DataError("inventory must be a list of objects with sellerSku")
    orders = [_order(raw, f"orders[{i}]") for i, raw in enumerate(raw_orders)]
    if len({o.order_id for o in orders}) != len(orders):
        raise DataError("orders: AmazonOrderId values must be unique")
    orders.sort(key=lambda o: (o.purchase, o.order_id))
    metrics = (
        None
        if raw_metrics is None
        else [_metric(raw, f"orderMetrics[{i}]") for i, raw in enumerate(raw_metrics)]
    )
    return CustomData(orders, metrics, sorted(inventory, key=lambda s: s["sellerSku"]))
