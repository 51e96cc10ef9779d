"""Deterministic synthetic sellers: a catalogue, orders with a life cycle, and FBA inventory.

Everything is drawn from ``random.Random`` seeded by the seller name (plus marketplace and date),
so the same refresh token yields the same data at the same clock, in any process.

Orders: ``profile.orders`` are spread over the ``profile.days`` complete UTC days before today,
and today gets orders at the same average rate, appearing as the clock passes their purchase
time. Each order lives through timed events (Pending -> Unshipped -> Shipped, or Pending ->
Canceled; a few stay Pending for days), so its OrderStatus and LastUpdateDate change as the clock
advances and an incremental ``LastUpdatedAfter`` sync finds it again. Prices are tax-inclusive:
``OrderTotal`` = sum of ``ItemPrice`` (unit price x quantity), ``ItemTax`` is the included part.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sandbox.marketplaces import MARKETPLACES, Marketplace, money, quantize
from sandbox.timefmt import iso_z

PENDING, UNSHIPPED, SHIPPED, CANCELED = "Pending", "Unshipped", "Shipped", "Canceled"
#: Currency -> value of one US dollar, for a profile currency unlike its marketplace's.
USD_RATES = {m.currency: m.usd_rate for m in MARKETPLACES.values()}
#: The included tax share of a tax-inclusive price.
TAX_SHARE = Decimal("0.08")

_ADJECTIVES = ["Bamboo", "Steel", "Organic", "Compact", "Deluxe", "Travel", "Kids", "Pro", "Classic", "Eco"]
_NOUNS = [
    "Water Bottle",
    "Yoga Mat",
    "Phone Stand",
    "Notebook",
    "Tea Set",
    "Desk Lamp",
    "Backpack",
    "Card Game",
]


@dataclass(frozen=True)
class Profile:
    """The size of a synthetic seller. ``currency`` None means the marketplace's currency."""

    orders: int
    skus: int
    days: int = 30
    currency: str | None = None

    def to_json(self) -> dict:
        return {"orders": self.orders, "skus": self.skus, "days": self.days, "currency": self.currency}


def default_profile(seller: str) -> Profile:
    """From tiny to medium, decided by the name: 5-150 orders over 30 days, 3-25 SKUs."""
    rng = random.Random(seller)
    tier = rng.random()
    orders = rng.randint(5, 20) if tier < 0.3 else rng.randint(20, 60) if tier < 0.7 else rng.randint(60, 150)
    return Profile(orders=orders, skus=rng.randint(3, 25))


@dataclass(frozen=True)
class Sku:
    sku: str
    asin: str
    fnsku: str
    title: str
    usd_price: Decimal
    #: Relative popularity; the first SKUs sell most.
    weight: float


def catalogue(seller: str, count: int) -> list[Sku]:
    rng = random.Random(f"{seller}|catalogue")
    skus = []
    for index in range(count):
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        skus.append(
            Sku(
                sku=f"SKU-{index + 1:04d}",
                asin="B0" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=8)),
                fnsku="X00" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=7)),
                title=title,
                usd_price=Decimal(rng.randint(499, 12999)) / 100,
                weight=1.0 / (index + 1) ** 0.8,
            )
        )
    return skus


def unit_price(sku: Sku, currency: str) -> Decimal:
    return quantize(sku.usd_price * USD_RATES.get(currency, Decimal(1)), currency)


@dataclass(frozen=True)
class Item:
    item_id: str
    sku: Sku
    quantity: int
    price: Decimal  # unit price x quantity, tax included

    def render(self, status: str, currency: str) -> dict:
        out = {
            "ASIN": self.sku.asin,
            "OrderItemId": self.item_id,
            "SellerSKU": self.sku.sku,
            "Title": self.sku.title,
            "QuantityOrdered": self.quantity,
            "QuantityShipped": self.quantity if status == SHIPPED else 0,
        }
        if status != PENDING:  # Amazon hides pricing until payment is authorised
            out["ItemPrice"] = money(self.price, currency)
            out["ItemTax"] = money(self.price * TAX_SHARE, currency)
        return out


@dataclass(frozen=True)
class SynthOrder:
    """One synthetic order; what it looks like depends on the time it is looked at."""

    order_id: str
    marketplace: Marketplace
    currency: str
    purchase: datetime
    channel: str
    business: bool
    prime: bool
    items: tuple[Item, ...]
    #: (time, status), sorted; the first is (purchase, Pending).
    events: tuple[tuple[datetime, str], ...]

    @property
    def marketplace_id(self) -> str:
        return self.marketplace.id

    def state(self, now: datetime) -> tuple[str, datetime]:
        """(OrderStatus, LastUpdateDate) as of ``now`` (assumed >= purchase)."""
        index = bisect.bisect_right(self.events, now, key=lambda event: event[0]) - 1
        moment, status = self.events[max(index, 0)]
        return status, moment

    def total(self) -> Decimal:
        return sum((item.price for item in self.items), Decimal(0))

    def render(self, now: datetime) -> dict:
        status, updated = self.state(now)
        units = sum(item.quantity for item in self.items)
        shipped = units if status == SHIPPED else 0
        out = {
            "AmazonOrderId": self.order_id,
            "PurchaseDate": iso_z(self.purchase),
            "LastUpdateDate": iso_z(updated),
            "OrderStatus": status,
            "FulfillmentChannel": self.channel,
            "SalesChannel": self.marketplace.sales_channel,
            "OrderType": "StandardOrder",
            "MarketplaceId": self.marketplace.id,
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": 0 if status == CANCELED else units - shipped,
            "IsBusinessOrder": self.business,
            "IsPrime": self.prime,
        }
        if status != PENDING:
            out["OrderTotal"] = money(self.total(), self.currency)
        return out

    def render_items(self, now: datetime) -> list[dict]:
        status, _ = self.state(now)
        return [item.render(status, self.currency) for item in self.items]

    @property
    def is_business(self) -> bool:
        return self.business

    @property
    def fulfillment_channel(self) -> str:
        return self.channel

    def metric(self, now: datetime) -> tuple[Decimal, list[tuple]] | None:
        """(OrderTotal, [(sku, asin, quantity, price)]) counted by getOrderMetrics, or None when
        the order does not count (see ``sandbox.metrics``)."""
        status, _ = self.state(now)
        if status in (PENDING, CANCELED):
            return None
        return self.total(), [(i.sku.sku, i.sku.asin, i.quantity, i.price) for i in self.items]


def _events(rng: random.Random, purchase: datetime, channel: str) -> tuple[tuple[datetime, str], ...]:
    fate = rng.random()
    minutes = timedelta(minutes=1)
    if fate < 0.05:
        return ((purchase, PENDING), (purchase + rng.randint(10, 360) * minutes, CANCELED))
    paid = rng.randint(1 * 1440, 3 * 1440) if fate < 0.08 else rng.randint(2, 45)
    ship = rng.randint(180, 720) if channel == "AFN" else rng.randint(360, 2160)
    unshipped_at = purchase + paid * minutes
    return ((purchase, PENDING), (unshipped_at, UNSHIPPED), (unshipped_at + ship * minutes, SHIPPED))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices("0123456789", k=count))


def orders_for_day(
    seller: str,
    marketplace: Marketplace,
    day: date,
    count: int,
    skus: list[Sku],
    currency: str,
    taken: set[str],
) -> list[SynthOrder]:
    """``count`` orders purchased on ``day`` (UTC); ``taken`` keeps order ids unique."""
    rng = random.Random(f"{seller}|{marketplace.id}|{day.isoformat()}")
    start = datetime.combine(day, time(), tzinfo=UTC)
    weights = [s.weight for s in skus]
    orders = []
    for _ in range(count):
        order_id = f"{marketplace.order_prefix}-{_digits(rng, 7)}-{_digits(rng, 7)}"
        while order_id in taken:
            order_id = f"{marketplace.order_prefix}-{_digits(rng, 7)}-{_digits(rng, 7)}"
        taken.add(order_id)
        purchase = start + timedelta(seconds=rng.randrange(86_400))
        channel = "AFN" if rng.random() < 0.65 else "MFN"
        lines = min(len(skus), rng.choices((1, 2, 3), weights=(75, 20, 5))[0])
        chosen: list[Sku] = []
        while len(chosen) < lines:
            sku = rng.choices(skus, weights=weights)[0]
            if sku not in chosen:
                chosen.append(sku)
        items = []
        for sku in chosen:
            quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            items.append(Item(_digits(rng, 14), sku, quantity, unit_price(sku, currency) * quantity))
        orders.append(
            SynthOrder(
                order_id=order_id,
                marketplace=marketplace,
                currency=currency,
                purchase=purchase,
                channel=channel,
                business=rng.random() < 0.1,
                prime=channel == "AFN" and rng.random() < 0.6,
                items=tuple(items),
                events=_events(rng, purchase, channel),
            )
        )
    return orders


def _wobble(seller: str, marketplace_id: str, phase: int) -> int:
    return random.Random(f"{seller}|{marketplace_id}|{phase}|wobble").randrange(100)


def _cumulative(seller: str, marketplace_id: str, epoch_day: int, total: int, days: int) -> int:
    """Orders purchased before ``epoch_day``, up to a constant. ``S`` grows by 1000 a day plus a
    wobble that repeats every ``days`` days, so any ``days`` consecutive days hold exactly
    ``total`` orders while single days vary by up to +-80%."""
    scaled = 1000 * epoch_day + 8 * _wobble(seller, marketplace_id, epoch_day % days)
    return total * scaled // (1000 * days)


def day_count(seller: str, marketplace_id: str, day: date, total: int, days: int) -> int:
    """Orders purchased on ``day``: depends on the date alone, so the data of a given day never
    changes when the clock crosses midnight (an incremental sync sees no orders vanish)."""
    epoch_day = day.toordinal()
    return _cumulative(seller, marketplace_id, epoch_day + 1, total, days) - _cumulative(
        seller, marketplace_id, epoch_day, total, days
    )


def synthetic_orders(
    seller: str, marketplace: Marketplace, profile: Profile, today: date
) -> list[SynthOrder]:
    """All orders of the window (``profile.days`` days before ``today``, plus today), by purchase."""
    currency = profile.currency or marketplace.currency
    skus = catalogue(seller, profile.skus)
    days = [today - timedelta(days=n) for n in range(profile.days, -1, -1)]
    counts = [day_count(seller, marketplace.id, d, profile.orders, profile.days) for d in days]
    taken: set[str] = set()
    orders: list[SynthOrder] = []
    if not skus:
        return orders
    for day, count in zip(days, counts, strict=True):
        orders.extend(orders_for_day(seller, marketplace, day, count, skus, currency, taken))
    orders.sort(key=lambda o: (o.purchase, o.order_id))
    return orders


def synthetic_inventory(seller: str, marketplace: Marketplace, profile: Profile, today: date) -> list[dict]:
    """One FBA summary per SKU, by SKU; some out of stock, some low (< 14 days of sales)."""
    rng = random.Random(f"{seller}|{marketplace.id}|inventory")
    skus = catalogue(seller, profile.skus)
    total_weight = sum(s.weight for s in skus) or 1.0
    states = [rng.choices(("out", "low", "ok"), weights=(15, 20, 65))[0] for _ in skus]
    if len(skus) >= 3 and "out" not in states:
        states[-1] = "out"
    if len(skus) >= 3 and "low" not in states:
        states[-2] = "low"
    start = datetime.combine(today, time(), tzinfo=UTC)
    summaries = []
    for sku, state in zip(skus, states, strict=True):
        per_day = profile.orders / profile.days * 1.3 * sku.weight / total_weight
        if state == "out":
            sellable = 0
        elif state == "low":
            sellable = max(1, int(per_day * rng.uniform(1, 10)))
        else:
            sellable = int(per_day * rng.uniform(20, 90)) + rng.randint(5, 30)
        inbound = rng.choice((0, 0, 0, rng.randint(10, 200)))
        reserved = rng.randint(0, 3) if sellable else 0
        unfulfillable = rng.choice((0, 0, 0, 0, 1, 2))
        summaries.append(
            {
                "asin": sku.asin,
                "fnSku": sku.fnsku,
                "sellerSku": sku.sku,
                "condition": "NewItem",
                "productName": sku.title,
                "lastUpdatedTime": iso_z(start - timedelta(minutes=rng.randint(0, 72 * 60))),
                "totalQuantity": sellable + inbound + reserved + unfulfillable,
                "inventoryDetails": {
                    "fulfillableQuantity": sellable,
                    "inboundWorkingQuantity": 0,
                    "inboundShippedQuantity": inbound,
                    "inboundReceivingQuantity": 0,
                    "reservedQuantity": {"totalReservedQuantity": reserved},
                    "unfulfillableQuantity": {"totalUnfulfillableQuantity": unfulfillable},
                },
            }
        )
    return summaries
