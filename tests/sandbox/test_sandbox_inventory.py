"""getInventorySummaries: pages of 50 and next tokens that expire after 30 (scaled) seconds."""

from __future__ import annotations

import httpx
import pytest
from sp_api.api import Inventories
from sp_api.base.exceptions import SellingApiBadRequestException

from tests.sandbox.conftest import client_factory


def test_pages_of_50_with_top_level_next_token(sandbox, api, clock):
    # Given a seller with 120 SKUs
    httpx.put(f"{sandbox.url}/_sandbox/sellers/acme-us/profile", json={"skus": 120, "orders": 3000})
    client = api(Inventories)
    # When the client pages with details
    pages = [client.get_inventory_summary_marketplace(details=True)]
    while pages[-1].next_token:
        clock.advance(seconds=0.5)  # the bucket (2/s, burst 2) refills as a polite client waits
        pages.append(client.get_inventory_summary_marketplace(details=True, nextToken=pages[-1].next_token))
    # Then: 50 + 50 + 20 summaries, all SKUs once, the token under the top-level pagination
    assert [len(p.payload["inventorySummaries"]) for p in pages] == [50, 50, 20]
    assert pages[0].pagination == {"nextToken": pages[0].next_token}
    assert pages[0].payload["granularity"] == {
        "granularityType": "Marketplace",
        "granularityId": "ATVPDKIKX0DER",
    }
    assert pages[0].rate_limit == "2.0"
    rows = [row for p in pages for row in p.payload["inventorySummaries"]]
    assert len({r["sellerSku"] for r in rows}) == 120
    sellable = [r["inventoryDetails"]["fulfillableQuantity"] for r in rows]
    assert sellable.count(0) >= 1 and any(0 < s < 20 for s in sellable) and max(sellable) > 50


def test_without_details_there_are_no_inventory_details(api):
    rows = api(Inventories).get_inventory_summary_marketplace().payload["inventorySummaries"]
    assert rows and all("inventoryDetails" not in r and "totalQuantity" in r for r in rows)


def test_next_token_expires_after_30_seconds(sandbox, api, clock):
    # Given a first page of a large catalogue
    httpx.put(f"{sandbox.url}/_sandbox/sellers/acme-us/profile", json={"skus": 200})
    client = api(Inventories)
    first = client.get_inventory_summary_marketplace()
    # When 29 s pass the token still works; its successor, used 31 s later, does not
    clock.advance(seconds=29)
    second = client.get_inventory_summary_marketplace(nextToken=first.next_token)
    clock.advance(seconds=31)
    with pytest.raises(SellingApiBadRequestException) as raised:
        client.get_inventory_summary_marketplace(nextToken=second.next_token)
    # Then Amazon's message comes back
    assert raised.value.message == "Next token is invalid or expired"


def test_time_scale_ages_next_tokens_faster(make_sandbox, clock):
    sandbox = make_sandbox(time_scale=10)
    httpx.put(f"{sandbox.url}/_sandbox/sellers/acme-us/profile", json={"skus": 200})
    client = client_factory(sandbox)(Inventories)
    first = client.get_inventory_summary_marketplace()
    clock.advance(seconds=4)  # 40 scaled seconds
    with pytest.raises(SellingApiBadRequestException):
        client.get_inventory_summary_marketplace(nextToken=first.next_token)


def test_unknown_next_token_and_bad_granularity_get_400(api):
    client = api(Inventories)
    with pytest.raises(SellingApiBadRequestException) as raised:
        client.get_inventory_summary_marketplace(nextToken="made-up")
    assert raised.value.message == "Next token is invalid or expired"
    with pytest.raises(SellingApiBadRequestException):
        client.get_inventory_summary_marketplace(granularityType="Country")
