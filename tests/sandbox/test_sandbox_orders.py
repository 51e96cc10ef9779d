"""getOrders and getOrderItems through the real client."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import sp_api.auth.access_token_client as lwa_client
from sp_api.api import Orders
from sp_api.base import Marketplaces
from sp_api.base.exceptions import SellingApiBadRequestException, SellingApiNotFoundException

from tests.sandbox.conftest import START, client_factory
from tests.sandbox.helpers import all_orders, iso

MIDNIGHT = START.replace(hour=0)
MONTH_AGO = MIDNIGHT - timedelta(days=30)
ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")


def set_profile(sandbox, seller: str, **profile) -> None:
    response = httpx.put(f"{sandbox.url}/_sandbox/sellers/{seller}/profile", json=profile)
    assert response.status_code == 200, response.text


def test_pages_to_the_end_with_unique_sorted_orders(sandbox, api):
    # Given a seller with 250 orders in the 30 days before today
    set_profile(sandbox, "acme-us", orders=250, days=30)
    # When a client pages getOrders 100 at a time over exactly those days
    client = api(Orders)
    first = client.get_orders(CreatedAfter=iso(MONTH_AGO), CreatedBefore=iso(MIDNIGHT), MaxResultsPerPage=100)
    orders = all_orders(
        client, CreatedAfter=iso(MONTH_AGO), CreatedBefore=iso(MIDNIGHT), MaxResultsPerPage=100
    )
    # Then it gets all 250, in three pages, ids unique and 3-7-7, sorted by PurchaseDate
    assert len(first.payload["Orders"]) == 100 and first.next_token
    assert first.payload["CreatedBefore"] == "2024-03-15T00:00:00Z"
    assert first.rate_limit == "0.0167"
    assert len(orders) == 250
    assert len({o["AmazonOrderId"] for o in orders}) == 250
    assert all(ORDER_ID.fullmatch(o["AmazonOrderId"]) for o in orders)
    dates = [o["PurchaseDate"] for o in orders]
    assert dates == sorted(dates) and MONTH_AGO.isoformat()[:10] <= dates[0][:10] < "2024-03-15"


def test_same_token_same_data_in_another_sandbox(sandbox, make_sandbox, api):
    # Given two independent sandboxes at the same clock
    other = make_sandbox()
    # When the same seller's orders are read from both
    query = dict(CreatedAfter=iso(MONTH_AGO))
    mine = all_orders(api(Orders, seller="globex-de", marketplace=Marketplaces.DE), **query)
    lwa_client.cache.clear()  # keyed by refresh token only: the other sandbox would see a foreign token
    theirs = all_orders(
        client_factory(other)(Orders, seller="globex-de", marketplace=Marketplaces.DE), **query
    )
    # Then they are identical, in the marketplace's currency
    assert mine == theirs and mine
    assert {o["OrderTotal"]["CurrencyCode"] for o in mine if "OrderTotal" in o} == {"EUR"}
    assert {o["SalesChannel"] for o in mine} == {"Amazon.de"}


def test_crossing_midnight_keeps_every_order_of_the_past(sandbox, api, clock):
    # Given the orders of the last week seen at noon
    set_profile(sandbox, "acme-us", orders=400)
    week = dict(CreatedAfter=iso(MIDNIGHT - timedelta(days=7)), CreatedBefore=iso(START - timedelta(hours=1)))
    before = [o["AmazonOrderId"] for o in all_orders(api(Orders), **week)]
    # When the clock passes midnight (the seller's data is regenerated for the new day)
    clock.advance(hours=13)
    after = [o["AmazonOrderId"] for o in all_orders(api(Orders), **week)]
    # Then the same orders are still there
    assert after == before and before


def test_concurrent_clients_of_many_sellers(sandbox, api):
    # Given eight sellers paging at the same time on the threaded server
    def sync(seller: str) -> int:
        return len(all_orders(api(Orders, seller=seller), CreatedAfter=iso(MONTH_AGO)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(sync, [f"shop-{n}" for n in range(8)] * 2))
    # Then every one gets its own full answer, twice the same
    assert counts[:8] == counts[8:] and all(counts)


def test_orders_have_required_fields_and_pending_has_no_total(sandbox, api):
    set_profile(sandbox, "acme-us", orders=600)
    orders = all_orders(api(Orders), CreatedAfter=iso(MONTH_AGO))
    statuses = {o["OrderStatus"] for o in orders}
    assert {"Pending", "Unshipped", "Shipped", "Canceled"} <= statuses
    for order in orders:
        assert {"AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus"} <= set(order)
        assert order["LastUpdateDate"] >= order["PurchaseDate"]
        assert ("OrderTotal" in order) == (order["OrderStatus"] != "Pending")
        if "OrderTotal" in order:
            assert re.fullmatch(r"\d+\.\d\d", order["OrderTotal"]["Amount"])


def test_incremental_sync_by_last_update_finds_orders_that_changed(sandbox, api, clock):
    # Given a first LastUpdatedAfter sync, whose watermark is the answer's LastUpdatedBefore
    set_profile(sandbox, "acme-us", orders=300)
    client = api(Orders)
    first = client.get_orders(LastUpdatedAfter=iso(START - timedelta(days=3)))
    watermark = first.payload["LastUpdatedBefore"]
    before = {
        o["AmazonOrderId"]: o for o in all_orders(client, LastUpdatedAfter=iso(START - timedelta(days=3)))
    }
    # When 12 hours pass and the next sync starts from the watermark
    clock.advance(hours=12)
    after = all_orders(client, LastUpdatedAfter=watermark)
    # Then it finds orders updated since (some it saw before, now further along), sorted by update
    assert after
    assert all(o["LastUpdateDate"] >= watermark for o in after)
    assert [o["LastUpdateDate"] for o in after] == sorted(o["LastUpdateDate"] for o in after)
    moved = [o for o in after if o["AmazonOrderId"] in before]
    assert moved
    assert all(o["OrderStatus"] != before[o["AmazonOrderId"]]["OrderStatus"] for o in moved)


@pytest.mark.parametrize(
    "query",
    [
        dict(CreatedAfter=iso(MONTH_AGO), LastUpdatedAfter=iso(MONTH_AGO)),
        dict(CreatedAfter=iso(MONTH_AGO), CreatedBefore=iso(START - timedelta(minutes=1))),
        dict(LastUpdatedAfter=iso(MONTH_AGO), LastUpdatedBefore=iso(START)),
        dict(CreatedAfter=iso(MIDNIGHT), CreatedBefore=iso(MONTH_AGO)),
        dict(CreatedAfter="yesterday"),
        dict(MaxResultsPerPage=5),
        dict(CreatedAfter=iso(MONTH_AGO), MaxResultsPerPage=0),
        dict(CreatedAfter=iso(MONTH_AGO), MaxResultsPerPage=101),
        dict(CreatedAfter=iso(MONTH_AGO), MarketplaceIds=["NOT-A-MARKETPLACE"]),
    ],
    ids=[
        "mixed-modes",
        "created-before-too-late",
        "updated-before-now",
        "after-past-before",
        "bad-date",
        "no-date",
        "page-0",
        "page-101",
        "bad-marketplace",
    ],
)
def test_invalid_queries_get_400_invalid_input(api, query):
    with pytest.raises(SellingApiBadRequestException) as raised:
        api(Orders).get_orders(**query)
    assert raised.value.amzn_code == "InvalidInput"
    assert raised.value.error[0]["details"]
    assert raised.value.headers["x-amzn-RateLimit-Limit"] == "0.0167"


def test_before_exactly_two_minutes_ago_is_accepted(api):
    response = api(Orders).get_orders(
        CreatedAfter=iso(MONTH_AGO), CreatedBefore=iso(START - timedelta(minutes=2))
    )
    assert response.payload["CreatedBefore"] == "2024-03-15T11:58:00Z"


def test_filters_and_unknown_parameters(sandbox, api):
    set_profile(sandbox, "acme-us", orders=400)
    client = api(Orders)
    everything = all_orders(client, CreatedAfter=iso(MONTH_AGO))
    canceled_mfn = all_orders(
        client,
        CreatedAfter=iso(MONTH_AGO),
        OrderStatuses=["Canceled"],
        FulfillmentChannels=["MFN"],
        Foo="ignored",
    )
    expected = [o for o in everything if o["OrderStatus"] == "Canceled" and o["FulfillmentChannel"] == "MFN"]
    assert canceled_mfn == expected and expected
    picked = [o["AmazonOrderId"] for o in everything[:3]]
    by_id = client.get_orders(AmazonOrderIds=picked).payload["Orders"]
    assert sorted(o["AmazonOrderId"] for o in by_id) == sorted(picked)


def test_marketplace_ids_as_repeated_keys_and_garbage_host_header(sandbox, api):
    # Given a token, and a raw request with repeated MarketplaceIds and a wrong Host header
    token = api(Orders).auth.access_token
    params = [
        ("MarketplaceIds", "ATVPDKIKX0DER"),
        ("MarketplaceIds", "A2EUQ1WTGCTBG2"),
        ("CreatedAfter", iso(MONTH_AGO)),
    ]
    response = httpx.get(
        f"{sandbox.url}/orders/v0/orders",
        params=params,
        headers={"x-amz-access-token": token, "host": "nonsense"},
    )
    # Then both marketplaces are searched
    assert response.status_code == 200
    assert {o["MarketplaceId"] for o in response.json()["payload"]["Orders"]} == {
        "ATVPDKIKX0DER",
        "A2EUQ1WTGCTBG2",
    }


def test_order_items_add_up_to_the_order_total(sandbox, api):
    set_profile(sandbox, "acme-us", orders=1500)
    client = api(Orders)
    orders = all_orders(client, CreatedAfter=iso(START - timedelta(days=3)))
    priced = next(o for o in orders if o["OrderStatus"] == "Shipped")
    pending = next(o for o in orders if o["OrderStatus"] == "Pending")
    items = client.get_order_items(priced["AmazonOrderId"])
    assert items.payload["AmazonOrderId"] == priced["AmazonOrderId"]
    assert items.rate_limit == "0.5"
    total = sum(Decimal(i["ItemPrice"]["Amount"]) for i in items.payload["OrderItems"])
    assert str(total) == priced["OrderTotal"]["Amount"]
    pending_items = client.get_order_items(pending["AmazonOrderId"]).payload["OrderItems"]
    assert pending_items and all("ItemPrice" not in i for i in pending_items)
    with pytest.raises(SellingApiNotFoundException):
        client.get_order_items("111-0000000-0000000")


def test_a_10000_order_seller_pages_quickly(make_sandbox, clock):
    # Given a large seller and quotas refilling fast enough for one page a clock second
    sandbox = make_sandbox(time_scale=100)
    set_profile(sandbox, "megastore", orders=10_000, skus=200)
    # (the first page builds the 10,000 orders: on a loaded machine that outlasts httpx's default 5 s
    # read timeout, so the client waits as long as the whole run may take)
    client = client_factory(sandbox)(Orders, seller="megastore", timeout=15)
    # When a client pages through the whole month
    started = time.monotonic()
    response = client.get_orders(CreatedAfter=iso(MONTH_AGO), CreatedBefore=iso(MIDNIGHT))
    count = len(response.payload["Orders"])
    while response.next_token:
        clock.advance(seconds=1)
        response = client.get_orders(NextToken=response.next_token, CreatedAfter=iso(MONTH_AGO))
        count += len(response.payload["Orders"])
    # Then all 10,000 come back in 100 pages, fast
    assert count == 10_000
    assert time.monotonic() - started < 15
