"""KPIs in Decimal, from numbers small enough to check by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services.sync.analysis import DayMetric, StockLine, compute_kpis

TODAY = date(2026, 11, 28)


def day(offset: int, revenue: str, orders: int, units: int) -> DayMetric:
    return DayMetric(TODAY - timedelta(days=offset), Decimal(revenue), orders, units)


def test_revenue_orders_growth_and_cancellation():
    # Given two orders this week, one the week before, one 20 days ago, and one cancelled order
    days = [day(0, "10.10", 1, 1), day(6, "20.20", 1, 2), day(7, "15.15", 1, 1), day(20, "0.01", 1, 1)]

    # When the KPIs are computed
    kpis = compute_kpis(
        today=TODAY, currency="EUR", days=days, order_statuses=["Shipped"] * 4 + ["Canceled"], stock=[]
    )

    # Then money is exact, as strings
    assert (kpis["revenue_7d"], kpis["revenue_30d"]) == ("30.30", "45.46")
    assert (kpis["orders_7d"], kpis["orders_30d"], kpis["units_30d"]) == (2, 4, 5)
    assert kpis["average_order_value_30d"] == "11.37"  # 45.46 / 4 = 11.365, half up
    assert kpis["revenue_growth_wow_pct"] == "100.0"  # 30.30 against 15.15
    assert kpis["cancellation_rate_30d"] == "0.2000"
    assert [row["date"] for row in kpis["daily"]][:1] == ["2026-10-30"]
    assert kpis["daily"][-1] == {"date": "2026-11-28", "revenue": "10.10", "orders": 1, "units": 1}


def test_a_quiet_month_has_no_ratios_rather_than_a_division_by_zero():
    kpis = compute_kpis(today=TODAY, currency="JPY", days=[], order_statuses=[], stock=[])
    assert kpis["revenue_30d"] == "0"  # yen have no minor unit
    assert kpis["average_order_value_30d"] is None
    assert kpis["revenue_growth_wow_pct"] is None
    assert kpis["cancellation_rate_30d"] is None
    assert len(kpis["daily"]) == 30


def test_low_stock_is_under_14_days_of_cover_and_out_of_stock_is_counted_apart():
    stock = [
        StockLine("FAST", sellable=6, units_30d=30),  # 1 a day: 6 days of cover
        StockLine("SLOW", sellable=6, units_30d=3),  # 60 days of cover
        StockLine("EDGE", sellable=14, units_30d=30),  # exactly 14 days: not low
        StockLine("GONE", sellable=0, units_30d=30),
        StockLine("NEW", sellable=5, units_30d=None),  # no sales figure yet
    ]
    inventory = compute_kpis(today=TODAY, currency="USD", days=[], order_statuses=[], stock=stock)[
        "inventory"
    ]
    assert inventory["sellable_units"] == 31
    assert (inventory["skus"], inventory["skus_out_of_stock"]) == (5, 1)
    assert inventory["low_stock"] == [{"sku": "FAST", "sellable": 6, "units_30d": 30, "days_of_cover": "6.0"}]
