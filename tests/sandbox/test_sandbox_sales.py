"""getOrderMetrics: rows are sums over the seller's orders (rule in sandbox.metrics)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sp_api.api import Orders, Sales
from sp_api.base import Granularity, Marketplaces
from sp_api.base.exceptions import SellingApiBadRequestException

from tests.sandbox.conftest import START
from tests.sandbox.helpers import all_orders, iso

MIDNIGHT = START.replace(hour=0)
WEEK_AGO = MIDNIGHT - timedelta(days=7)


def metrics(client, start, end, granularity=Granularity.DAY, zone="UTC", **kw):
    return client.get_order_metrics(
        interval=(iso(start), iso(end)), granularity=granularity, granularityTimeZone=zone, **kw
    )


def test_day_rows_equal_sums_over_orders(sandbox, api):
    # Given a seller's orders of the last 7 complete days
    httpx.put(f"{sandbox.url}/_sandbox/sellers/acme-us/profile", json={"orders": 900})
    orders = all_orders(api(Orders), CreatedAfter=iso(WEEK_AGO), CreatedBefore=iso(MIDNIGHT))
    expected = defaultdict(lambda: [0, 0, Decimal(0)])
    for order in orders:
        if order["OrderStatus"] in ("Canceled", "Pending"):
            continue
        day = expected[order["PurchaseDate"][:10]]
        day[0] += 1
        day[1] += order["NumberOfItemsShipped"] + order["NumberOfItemsUnshipped"]
        day[2] += Decimal(order["OrderTotal"]["Amount"])
    # When the metrics of those days are asked by Day and in Total
    response = metrics(api(Sales), WEEK_AGO, MIDNIGHT)
    total = metrics(api(Sales), WEEK_AGO, MIDNIGHT, Granularity.TOTAL).payload
    # Then each Day row is the sum of that day's non-canceled, non-pending orders
    rows = response.payload
    assert response.rate_limit == "0.5"
    assert len(rows) == 7
    assert rows[0]["interval"] == "2024-03-08T00:00Z--2024-03-09T00:00Z"
    for row in rows:
        count, units, sales = expected[row["interval"][:10]]
        assert (row["orderCount"], row["unitCount"]) == (count, units)
        assert row["totalSales"] == {"amount": str(sales), "currencyCode": "USD"}
        assert row["orderItemCount"] >= count
        average = (sales / units).quantize(Decimal("0.01")) if units else Decimal("0.00")
        assert row["averageUnitPrice"]["amount"] == str(average)
    assert len(total) == 1 and total[0]["interval"] == "2024-03-08T00:00Z--2024-03-15T00:00Z"
    assert total[0]["orderCount"] == sum(r["orderCount"] for r in rows)
    assert Decimal(total[0]["totalSales"]["amount"]) == sum(Decimal(r["totalSales"]["amount"]) for r in rows)


def test_hand_made_orders_give_hand_computed_metrics(sandbox, api):
    # Given hand-made orders: two counted, one canceled, one pending
    def order(oid, day, status, amount=None, units=1, items=None):
        raw = {
            "AmazonOrderId": oid,
            "PurchaseDate": f"2024-03-{day}T10:00:00Z",
            "LastUpdateDate": f"2024-03-{day}T11:00:00Z",
            "OrderStatus": status,
            "MarketplaceId": "ATVPDKIKX0DER",
            "NumberOfItemsShipped": units,
            "NumberOfItemsUnshipped": 0,
        }
        if amount:
            raw["OrderTotal"] = {"CurrencyCode": "USD", "Amount": amount}
        if items:
            raw["OrderItems"] = items
        return raw

    item = {
        "ASIN": "B0001",
        "SellerSKU": "SKU-1",
        "OrderItemId": "1",
        "QuantityOrdered": 2,
        "ItemPrice": {"CurrencyCode": "USD", "Amount": "25.00"},
    }
    data = {
        "orders": [
            order("111-0000001-0000001", "10", "Shipped", "25.00", units=2, items=[item]),
            order("111-0000001-0000002", "10", "Unshipped", "10.01", units=3),
            order("111-0000001-0000003", "10", "Canceled", "99.00"),
            order("111-0000001-0000004", "11", "Pending"),
        ],
        "inventory": [],
    }
    assert httpx.put(f"{sandbox.url}/_sandbox/sellers/acme-us/data", json=data).status_code == 200
    # When the metrics of March 10 and 11 are asked
    rows = metrics(api(Sales), START.replace(day=10, hour=0), START.replace(day=12, hour=0)).payload
    # Then: 2 orders, 1 + 1 item lines, 5 units, 35.01 sold, 7.00 a unit; nothing on the 11th
    assert rows[0] == {
        "interval": "2024-03-10T00:00Z--2024-03-11T00:00Z",
        "unitCount": 5,
        "orderItemCount": 2,
        "orderCount": 2,
        "averageUnitPrice": {"amount": "7.00", "currencyCode": "USD"},
        "totalSales": {"amount": "35.01", "currencyCode": "USD"},
    }
    assert rows[1]["orderCount"] == 0 and rows[1]["totalSales"]["amount"] == "0.00"
    # And getOrders / getOrderItems serve the same orders, without the sandbox-only OrderItems key
    served = api(Orders).get_orders(CreatedAfter="2024-03-01T00:00:00Z").payload["Orders"]
    assert [o["AmazonOrderId"] for o in served] == [o["AmazonOrderId"] for o in data["orders"]]
    assert all("OrderItems" not in o for o in served)
    assert api(Orders).get_order_items("111-0000001-0000001").payload["OrderItems"] == [item]


def test_explicit_metric_rows_are_rebucketed(sandbox, api):
    def row(day, units, amount):
        return {
            "interval": f"2024-03-{day:02d}T00:00Z--2024-03-{day + 1:02d}T00:00Z",
            "unitCount": units,
            "orderItemCount": units,
            "orderCount": 1,
            "averageUnitPrice": {"amount": amount, "currencyCode": "EUR"},
            "totalSales": {"amount": amount, "currencyCode": "EUR"},
        }

    answer = httpx.put(
        f"{sandbox.url}/_sandbox/sellers/hans-de/data",
        json={"orders": [], "orderMetrics": [row(4, 1, "10.00"), row(5, 3, "20.00")]},
    )
    assert answer.json() == {"orders": 0, "orderMetrics": 2, "inventory": 0}
    total = metrics(
        api(Sales, "hans-de", Marketplaces.DE), START.replace(day=1, hour=0), MIDNIGHT, Granularity.TOTAL
    )
    assert total.payload[0] | {"interval": None} == {
        "interval": None,
        "unitCount": 4,
        "orderItemCount": 4,
        "orderCount": 2,
        "averageUnitPrice": {"amount": "7.50", "currencyCode": "EUR"},
        "totalSales": {"amount": "30.00", "currencyCode": "EUR"},
    }


def test_yen_has_no_decimals_and_local_time_zones_are_honoured(api):
    # Given a Japanese seller and an interval in Tokyo time
    start = "2024-03-01T00:00:00+09:00"
    end = "2024-03-15T00:00:00+09:00"
    rows = (
        api(Sales, "sakura-jp", Marketplaces.JP)
        .get_order_metrics(
            interval=(start, end), granularity=Granularity.WEEK, granularityTimeZone="Asia/Tokyo"
        )
        .payload
    )
    # Then rows are in +09:00, split on Mondays, amounts in whole yen
    assert [r["interval"] for r in rows] == [
        "2024-03-01T00:00+09:00--2024-03-04T00:00+09:00",
        "2024-03-04T00:00+09:00--2024-03-11T00:00+09:00",
        "2024-03-11T00:00+09:00--2024-03-15T00:00+09:00",
    ]
    assert all(
        r["totalSales"]["currencyCode"] == "JPY" and "." not in r["totalSales"]["amount"] for r in rows
    )


@pytest.mark.parametrize(
    ("interval", "zone", "extra"),
    [
        (("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"), "America/Los_Angeles", {}),
        (("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"), None, {}),
        (("2024-03-02T00:00:00Z", "2024-03-01T00:00:00Z"), "UTC", {}),
        (("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"), "Mars/Olympus", {}),
        (("2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"), "UTC", {"sku": "A", "asin": "B"}),
    ],
    ids=["zone-offset-mismatch", "zone-missing", "reversed", "unknown-zone", "sku-and-asin"],
)
def test_invalid_metric_queries_get_400(api, interval, zone, extra):
    with pytest.raises(SellingApiBadRequestException) as raised:
        api(Sales).get_order_metrics(
            interval=interval, granularity=Granularity.DAY, granularityTimeZone=zone, **extra
        )
    assert raised.value.amzn_code == "InvalidInput"
