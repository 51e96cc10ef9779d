"""Token buckets per (refresh token, operation), refilled on the (scaled) clock."""

from __future__ import annotations

import httpx
import pytest
from sp_api.api import Inventories, Orders
from sp_api.base.exceptions import SellingApiRequestThrottledException

from tests.sandbox.conftest import START, client_factory
from tests.sandbox.helpers import iso

SINCE = iso(START.replace(day=1))


def test_429_after_the_burst_and_refill_at_the_rate(api, clock, sandbox):
    # Given getInventorySummaries' bucket: rate 2/s, burst 2
    client = api(Inventories)
    client.get_inventory_summary_marketplace()
    client.get_inventory_summary_marketplace()
    # When a third call comes at the same instant
    with pytest.raises(SellingApiRequestThrottledException) as raised:
        client.get_inventory_summary_marketplace()
    # Then 429 QuotaExceeded, without a rate-limit header
    assert raised.value.amzn_code == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in raised.value.headers
    # And half a second later one token is back, and only one
    clock.advance(seconds=0.5)
    client.get_inventory_summary_marketplace()
    with pytest.raises(SellingApiRequestThrottledException):
        client.get_inventory_summary_marketplace()
    # And other sellers and operations have their own buckets
    api(Inventories, seller="other-seller").get_inventory_summary_marketplace()
    api(Orders).get_orders(CreatedAfter=SINCE)
    assert httpx.get(f"{sandbox.url}/_sandbox/stats").json()["acme-us"]["getInventorySummaries"] == {
        "served": 3,
        "throttled": 2,
        "failed": 0,
    }


def test_time_scale_speeds_up_get_orders_refill(make_sandbox, clock):
    # Given getOrders (0.0167/s, burst 20) in a sandbox 60 times faster
    client = client_factory(make_sandbox(time_scale=60))(Orders)
    for _ in range(20):
        client.get_orders(CreatedAfter=SINCE)
    with pytest.raises(SellingApiRequestThrottledException):
        client.get_orders(CreatedAfter=SINCE)
    # When one clock second passes (a minute at Amazon's rate)
    clock.advance(seconds=1)
    # Then one more call is served
    client.get_orders(CreatedAfter=SINCE)
    with pytest.raises(SellingApiRequestThrottledException):
        client.get_orders(CreatedAfter=SINCE)
