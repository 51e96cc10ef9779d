"""getOrderMetrics: buckets of an interval and the sums in each.

The rule (synthetic and hand-made orders alike): a bucket counts the orders whose PurchaseDate is
in ``[start, end)`` and not after now, whose status as of now is neither Canceled nor Pending
(Pending orders have no price yet). ``orderCount`` counts them, ``orderItemCount`` their item
lines, ``unitCount`` their QuantityOrdered, ``totalSales`` the sum of their OrderTotal (with a
``sku``/``asin`` filter: of the matching items' ItemPrice only), ``averageUnitPrice`` =
totalSales / unitCount (0 when no units), rounded half up to the currency's minor unit.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from sandbox.marketplaces import money, quantize
from sandbox.timefmt import iso_minutes

GRANULARITIES = ("Hour", "Day", "Week", "Month", "Year", "Total")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: More rows than this in one answer is refused with 400 rather than built.
MAX_BUCKETS = 10_000


def _local_midnight(moment: datetime, tz: tzinfo) -> datetime:
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None).replace(tzinfo=tz)


def next_boundary(moment: datetime, granularity: str, tz: tzinfo, first_weekday: int = 0) -> datetime:
    """The first bucket boundary strictly after ``moment``, in ``tz`` local time."""
    local = moment.astimezone(tz)
    if granularity == "Hour":
        # Add the hour in UTC: aware arithmetic in a zone is wall-clock arithmetic, wrong at DST.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC) + timedelta(hours=1)
    midnight = _local_midnight(moment, tz).replace(tzinfo=None)
    if granularity == "Day":
        naive = midnight + timedelta(days=1)
    elif granularity == "Week":
        naive = midnight + timedelta(days=(first_weekday - midnight.weekday() - 1) % 7 + 1)
    elif granularity == "Month":
        naive = (midnight.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:  # Year
        naive = midnight.replace(year=midnight.year + 1, month=1, day=1)
    return naive.replace(tzinfo=tz)


def buckets(start: datetime, end: datetime, granularity: str, tz: tzinfo, first_weekday: int = 0):
    """``[(bucket_start, bucket_end)]`` covering ``[start, end)``; the first and last may be partial.
    None when there would be more than MAX_BUCKETS."""
    if granularity == "Total":
        return [(start, end)]
    out = []
    cursor = start
    while cursor < end:
        boundary = min(next_boundary(cursor, granularity, tz, first_weekday), end)
        out.append((cursor, boundary))
        cursor = boundary
        if len(out) > MAX_BUCKETS:
            return None
    return out


@dataclass
class Filters:
    buyer_type: str = "All"  # B2B, B2C, All
    network: str | None = None  # AFN, MFN
    sku: str | None = None
    asin: str | None = None

    def keeps(self, order) -> bool:
        if self.buyer_type != "All" and order.is_business != (self.buyer_type == "B2B"):
            return False
        return self.network is None or order.fulfillment_channel == self.network


@dataclass
class Sums:
    units: int = 0
    lines: int = 0
    orders: int = 0
    sales: Decimal = Decimal(0)

    def row(self, start: datetime, end: datetime, tz: tzinfo, currency: str) -> dict:
        average = self.sales / self.units if self.units else Decimal(0)
        return {
            "interval": f"{iso_minutes(start.astimezone(tz))}--{iso_minutes(end.astimezone(tz))}",
            "unitCount": self.units,
            "orderItemCount": self.lines,
            "orderCount": self.orders,
            "averageUnitPrice": money(quantize(average, currency), currency, lower=True),
            "totalSales": money(self.sales, currency, lower=True),
        }


def sum_orders(
    orders, purchases: list[datetime], start: datetime, end: datetime, now: datetime, filters: Filters
) -> Sums:
    """Sum the orders (sorted by purchase; ``purchases`` their PurchaseDates) in ``[start, end)``."""
    sums = Sums()
    stop = min(end, now + timedelta(microseconds=1))
    for order in orders[bisect.bisect_left(purchases, start) : bisect.bisect_left(purchases, stop)]:
        if not filters.keeps(order):
            continue
        counted = order.metric(now)
        if counted is None:
            continue
        total, lines = counted
        if filters.sku or filters.asin:
            lines = [
                line for line in lines if line[0] == filters.sku or (filters.asin and line[1] == filters.asin)
            ]
            if not lines:
                continue
            total = sum((line[3] for line in lines), Decimal(0))
        sums.orders += 1
        sums.lines += len(lines)
        sums.units += sum(line[2] for line in lines)
        sums.sales += total
    return sums


def sum_rows(rows, start: datetime, end: datetime) -> Sums:
    """Re-bucket hand-made metric rows by the start of their interval."""
    sums = Sums()
    for row in rows:
        if start <= row.start < end:
            sums.units += row.units
            sums.lines += row.lines
            sums.orders += row.orders
            sums.sales += row.sales
    return sums
