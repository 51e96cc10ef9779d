"""The KPIs of one seller account, computed in Decimal from what the fetch stored (or had just fetched).

Sources, and why:
- revenue, orders, units and the 30 daily rows come from getOrderMetrics (Amazon's own daily sums,
  which leave cancelled orders out);
- the cancellation rate comes from the orders (purchased in the window, cancelled / all);
- inventory from the FBA summaries; a SKU is *low stock* when it has sellable units that cover fewer
  than 14 days of its own 30-day sales (units_30d / 30 a day). Out-of-stock SKUs are counted in
  ``skus_out_of_stock`` and not repeated in ``low_stock``.
Money is serialised as strings with the currency's decimals; ratios as strings too, never floats.

An analysis only moves forward, in MongoDB and in the cache alike: it is written only when it was
computed later than the one stored. An execution of a job that was cut off from the network between
its lease check and its writes (services.jobs.lease) may deliver them after a newer execution has
finished; its older analysis, a first look among them, must not replace the newer one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import redis
from mongoengine import NotUniqueError

from models import Analysis, InventoryItem, Order, SalesMetric, SellerAccount
from services.platform.forward_only import moving_forward
from services.platform.json_fields import fields_json
from services.platform.settings import Settings
from services.sync import cache
from services.sync.amazon_time import METRICS_DAYS, metrics_window

LOW_STOCK_DAYS = 14
#: Currencies without minor units.
ZERO_DECIMAL_CURRENCIES = {"JPY"}
MARKETPLACE_CURRENCY = {
    "US": "USD", "CA": "CAD", "MX": "MXN", "BR": "BRL", "GB": "GBP", "UK": "GBP", "DE": "EUR", "FR": "EUR",
    "IT": "EUR", "ES": "EUR", "NL": "EUR", "SE": "SEK", "PL": "PLN", "IN": "INR", "TR": "TRY", "AE": "AED",
    "JP": "JPY", "AU": "AUD", "SG": "SGD",
}  # fmt: skip


@dataclass(frozen=True)
class DayMetric:
    day: date
    revenue: Decimal
    orders: int
    units: int


@dataclass(frozen=True)
class StockLine:
    sku: str
    sellable: int
    units_30d: int | None


def money(value: Decimal, currency: str) -> str:
    exponent = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return str(value.quantize(exponent, rounding=ROUND_HALF_UP))


def compute_kpis(
    *,
    today: date,
    currency: str,
    days: Iterable[DayMetric],
    order_statuses: Iterable[str],
    stock: Iterable[StockLine],
) -> dict[str, Any]:
    """Pure KPI computation over the 30 days ending with ``today``."""
    rows = _window_rows(today, days)
    return {
        "currency": currency,
        **_sales_kpis(rows, currency),
        "cancellation_rate_30d": _cancellation_rate(list(order_statuses)),
        "daily": [
            {
                "date": r.day.isoformat(),
                "revenue": money(r.revenue, currency),
                "orders": r.orders,
                "units": r.units,
            }
            for r in rows
        ],
        "inventory": _inventory_kpis(list(stock)),
    }


def _window_rows(today: date, days: Iterable[DayMetric]) -> list[DayMetric]:
    """One row per day of the window, oldest first; a day without metrics is a day without sales."""
    by_day = {d.day: d for d in days}
    window = [today - timedelta(days=offset) for offset in range(METRICS_DAYS - 1, -1, -1)]
    return [by_day.get(day) or DayMetric(day, Decimal(0), 0, 0) for day in window]


def _sales_kpis(rows: list[DayMetric], currency: str) -> dict[str, Any]:
    last7, prev7 = rows[-7:], rows[-14:-7]
    revenue_7d = sum((r.revenue for r in last7), Decimal(0))
    revenue_prev_7d = sum((r.revenue for r in prev7), Decimal(0))
    revenue_30d = sum((r.revenue for r in rows), Decimal(0))
    orders_30d = sum(r.orders for r in rows)
    growth = (revenue_7d - revenue_prev_7d) * 100 / revenue_prev_7d if revenue_prev_7d else None
    return {
        "revenue_7d": money(revenue_7d, currency),
        "revenue_30d": money(revenue_30d, currency),
        "orders_7d": sum(r.orders for r in last7),
        "orders_30d": orders_30d,
        "units_30d": sum(r.units for r in rows),
        "average_order_value_30d": money(revenue_30d / orders_30d, currency) if orders_30d else None,
        "revenue_growth_wow_pct": str(growth.quantize(Decimal("0.1"), ROUND_HALF_UP))
        if growth is not None
        else None,
    }


def _cancellation_rate(statuses: list[str]) -> str | None:
    if not statuses:
        return None
    cancelled = sum(1 for s in statuses if s == "Canceled")
    return str((Decimal(cancelled) / len(statuses)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _inventory_kpis(stock_lines: list[StockLine]) -> dict[str, Any]:
    return {
        "sellable_units": sum(max(line.sellable, 0) for line in stock_lines),
        "skus": len(stock_lines),
        "skus_out_of_stock": sum(1 for line in stock_lines if line.sellable <= 0),
        "low_stock": _low_stock(stock_lines),
    }


def _low_stock(stock_lines: list[StockLine]) -> list[dict[str, Any]]:
    """In-stock SKUs whose sellable units cover fewer than LOW_STOCK_DAYS of their own sales, the
    shortest cover first."""
    low_stock = []
    for line in stock_lines:
        if line.sellable <= 0 or not line.units_30d:
            continue
        cover = Decimal(line.sellable) * METRICS_DAYS / Decimal(line.units_30d)
        if cover < LOW_STOCK_DAYS:
            low_stock.append(
                {
                    "sku": line.sku,
                    "sellable": line.sellable,
                    "units_30d": line.units_30d,
                    "days_of_cover": str(cover.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
                }
            )
    low_stock.sort(key=lambda entry: (Decimal(entry["days_of_cover"]), entry["sku"]))
    return low_stock


def without_pending(kpis: dict[str, Any], pending: Iterable[str]) -> dict[str, Any]:
    """The KPIs with each pending one set to null (``low_stock`` lives under ``inventory``)."""
    for name in pending:
        if name in kpis:
            kpis[name] = None
        elif name in kpis.get("inventory", {}):
            kpis["inventory"][name] = None
    return kpis


@dataclass
class AnalysisInputs:
    """What an analysis reads, when the job has it already: what it fetched a moment before.

    ``metrics`` are the stored fields of the account's daily SalesMetric rows (``day``,
    ``total_sales``, ``order_count``, ``unit_count``, ``currency``), as the metrics step upserted them;
    ``stock`` the account's whole inventory after a complete listing; ``orders`` the purchase time and
    status of every order of the account (a first sync's whole listing). Any None: read from the store.
    """

    metrics: list[dict[str, Any]] | None = None
    stock: list[StockLine] | None = None
    orders: list[tuple[datetime, str]] | None = None


def analyse_account(
    account: SellerAccount,
    now: datetime,
    *,
    pending: Iterable[str] = (),
    inputs: AnalysisInputs | None = None,
) -> Analysis | None:
    """Compute the account's KPIs and upsert its Analysis document.

    The inputs are the stored data, read with projections, unless ``inputs`` has them; a pending KPI's
    input is not read at all. ``pending`` names KPIs the stored data cannot give yet (a first look:
    services.sync.first_look); they are stored as null, and the analysis is marked incomplete. Returns
    None, having written nothing, when the stored analysis was computed at ``now`` or later (see the
    module docstring).
    """
    pending = list(pending)
    inputs = inputs or AnalysisInputs()
    today = now.astimezone(UTC).date()
    start, end = metrics_window(today)
    scope = {"user_id": account.user_id, "marketplace_id": account.marketplace_id}
    metrics = inputs.metrics if inputs.metrics is not None else _stored_metrics(scope, start, end)
    currency = next(
        (m["currency"] for m in metrics if m.get("currency")),
        MARKETPLACE_CURRENCY.get(account.country, "USD"),
    )
    days = [_day_metric(m) for m in metrics if start <= _utc(m["day"]) < end]
    if "cancellation_rate_30d" in pending:
        statuses = []
    elif inputs.orders is not None:
        statuses = [status for purchased, status in inputs.orders if start <= purchased < end]
    else:
        statuses = _order_statuses(scope, start, end)
    stock = inputs.stock if inputs.stock is not None else stored_stock(scope)
    kpis = compute_kpis(today=today, currency=currency, days=days, order_statuses=statuses, stock=stock)
    kpis = without_pending(kpis, pending)
    period = f"{start.date().isoformat()}--{(end - timedelta(days=1)).date().isoformat()}"
    fields = dict(
        region=account.region,
        country=account.country,
        period=period,
        computed_at=now,
        kpis=kpis,
        complete=not pending,
        pending=pending,
    )
    if not _store_forward(scope, fields, now):
        return None
    # What was just stored, without reading it back (one round trip less per analysis).
    return Analysis(**scope, **fields)


#: The fields of a SalesMetric an analysis reads.
METRIC_FIELDS = ("day", "total_sales", "order_count", "unit_count", "currency")
#: The fields of an InventoryItem an analysis (and the velocity step) reads.
STOCK_FIELDS = {"seller_sku": 1, "sellable_quantity": 1, "units_30d": 1, "units_30d_at": 1, "_id": 1}


def _day_metric(stored: dict[str, Any]) -> DayMetric:
    revenue = Decimal(stored.get("total_sales") or "0")
    return DayMetric(
        _utc(stored["day"]).date(), revenue, stored.get("order_count") or 0, stored.get("unit_count") or 0
    )


def _stored_metrics(scope: dict[str, str], start: datetime, end: datetime) -> list[dict[str, Any]]:
    query = {**scope, "day": {"$gte": start, "$lt": end}}
    projection = dict.fromkeys(METRIC_FIELDS, 1)
    return list(SalesMetric._get_collection().find(query, projection))


def _order_statuses(scope: dict[str, str], start: datetime, end: datetime) -> list[str]:
    query = {**scope, "purchase_date": {"$gte": start, "$lt": end}}
    return [o["status"] for o in Order._get_collection().find(query, {"status": 1, "_id": 0})]


def stored_items(scope: dict[str, str]) -> list[dict[str, Any]]:
    """The account's inventory items, as raw documents of ``STOCK_FIELDS`` (one indexed read)."""
    return list(InventoryItem._get_collection().find(scope, STOCK_FIELDS))


def stock_of(items: Iterable[dict[str, Any]]) -> list[StockLine]:
    return [StockLine(i["seller_sku"], i.get("sellable_quantity") or 0, i.get("units_30d")) for i in items]


def stored_stock(scope: dict[str, str]) -> list[StockLine]:
    return stock_of(stored_items(scope))


def _utc(moment: datetime) -> datetime:
    """A stored time (naive UTC, as pymongo returns it) or a fetched one (aware), as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _store_forward(scope: dict[str, str], fields: dict[str, Any], now: datetime) -> bool:
    """Upsert the analysis unless the stored one was computed at ``now`` or later; whether it did.

    One conditional upsert. When the condition fails on a stored analysis, the upsert's insert meets
    the unique index: that analysis is newer. (Two first analyses inserted at once meet it too; the
    plain update that follows then decides by the same condition.)
    """
    changes = {f"set__{name}": value for name, value in fields.items()}
    newer_than_stored = Analysis.objects(**scope, **moving_forward("computed_at", now))
    try:
        newer_than_stored.update_one(upsert=True, **changes)
        return True
    except NotUniqueError:
        return bool(newer_than_stored.update_one(**changes))


def analyse_and_cache(
    account: SellerAccount,
    now: datetime,
    *,
    settings: Settings,
    client: redis.Redis,
    pending: Iterable[str] = (),
    inputs: AnalysisInputs | None = None,
) -> Analysis | None:
    """Analyse the account (``analyse_account``) and write the result to the dashboards' cache; None
    when a newer analysis is stored (nothing written)."""
    analysis = analyse_account(account, now, pending=pending, inputs=inputs)
    if analysis is None:
        return None
    cache.write_analysis(
        account.user_id, account.country, analysis_json(analysis), settings=settings, client=client
    )
    return analysis


def analysis_json(analysis: Analysis) -> dict[str, Any]:
    """The cached form of an analysis (what dashboards read)."""
    # Always to the millisecond (what MongoDB keeps): one width, so the cache can compare them as text.
    computed_at = analysis.computed_at.astimezone(UTC).isoformat(timespec="milliseconds")
    return {
        **fields_json(analysis, "user_id", "region", "country", "marketplace_id", "period"),
        "computedAt": computed_at.replace("+00:00", "Z"),
        "kpis": analysis.kpis,
        # A first look is incomplete until the orders backfill ends; dashboards show pending KPIs as such.
        "complete": analysis.complete is not False,
        "pending": list(analysis.pending or []),
    }
