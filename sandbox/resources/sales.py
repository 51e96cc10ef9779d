"""Sales v1: ``getOrderMetrics`` (the summing rule is in ``sandbox.metrics``)."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import falcon

from sandbox.errors import invalid_input
from sandbox.metrics import GRANULARITIES, WEEKDAYS, Filters, buckets, sum_orders, sum_rows
from sandbox.params import marketplace_ids, text_param
from sandbox.resources import StateResource
from sandbox.timefmt import parse_iso

SALES_MARKETPLACE_KEYS = ("marketplaceIds", "MarketplaceIds", "MarketplaceId", "marketplace_ids")


def parse_interval(value: str | None) -> tuple[datetime, datetime]:
    parts = (value or "").split("--")
    bounds = [parse_iso(p) for p in parts] if len(parts) == 2 else [None]
    if None in bounds:
        raise invalid_input("interval must be two ISO 8601 date-times joined by '--'")
    start, end = bounds
    if start >= end:
        raise invalid_input("interval: the start must be before the end")
    return start, end


def parse_zone(name: str | None, granularity: str, start: datetime, end: datetime) -> tzinfo:
    """granularityTimeZone: required above Hour, and its offset must match the interval's."""
    if name is None:
        if granularity != "Hour":
            raise invalid_input("granularityTimeZone is required when granularity is not Hour")
        return timezone(start.utcoffset())
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid_input(f"granularityTimeZone: unknown time zone {name!r}") from None
    if any(b.astimezone(zone).utcoffset() != b.utcoffset() for b in (start, end)):
        raise invalid_input("granularityTimeZone must have the same offset as the interval")
    return zone


def parse_filters(req: falcon.Request) -> Filters:
    buyer_type = text_param(req, "buyerType") or "All"
    if buyer_type not in ("B2B", "B2C", "All"):
        raise invalid_input("buyerType must be B2B, B2C or All")
    network = text_param(req, "fulfillmentNetwork")
    if network not in (None, "AFN", "MFN"):
        raise invalid_input("fulfillmentNetwork must be AFN or MFN")
    sku, asin = text_param(req, "sku"), text_param(req, "asin")
    if sku and asin:
        raise invalid_input("asin and sku cannot be combined")
    return Filters(buyer_type, network, sku, asin)


class OrderMetricsResource(StateResource):
    operation = "getOrderMetrics"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        seller, now = req.context.seller, self._state.now()
        ids = marketplace_ids(req, SALES_MARKETPLACE_KEYS)
        if len(ids) != 1:
            raise invalid_input("marketplaceIds accepts exactly one marketplace")
        start, end = parse_interval(text_param(req, "interval"))
        granularity = text_param(req, "granularity")
        if granularity not in GRANULARITIES:
            raise invalid_input(f"granularity must be one of {', '.join(GRANULARITIES)}")
        zone = parse_zone(text_param(req, "granularityTimeZone"), granularity, start, end)
        first_day = text_param(req, "firstDayOfWeek") or "Monday"
        if first_day not in ("Monday", "Sunday"):
            raise invalid_input("firstDayOfWeek must be Monday or Sunday")
        filters = parse_filters(req)
        spans = buckets(start, end, granularity, zone, WEEKDAYS.index(first_day))
        if spans is None:
            raise invalid_input("interval is too long for this granularity")
        book = self._state.sellers.orders(seller, ids[0], now)
        custom = self._state.sellers.custom(seller)
        rows = []
        for low, high in spans:
            if custom is not None and custom.metrics is not None:
                sums, currency = sum_rows(custom.metrics, low, high), _currency(custom.metrics, book.currency)
            else:
                sums, currency = (
                    sum_orders(book.orders, book.purchases, low, high, now, filters),
                    book.currency,
                )
            rows.append(sums.row(low, high, zone, currency))
        resp.media = {"payload": rows}


def _currency(rows, default: str) -> str:
    return rows[0].currency if rows else default
