"""Injected faults, as python-amazon-sp-api sees each of them."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sp_api.api import Inventories, Orders, Sales
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import Granularity
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiGatewayTimeoutException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)

from tests.sandbox.conftest import START
from tests.sandbox.helpers import iso

SINCE = iso(START.replace(day=1))


def put_faults(sandbox, faults, seller="acme-us") -> httpx.Response:
    return httpx.put(f"{sandbox.url}/_sandbox/sellers/{seller}/faults", json=faults)


@pytest.mark.parametrize(
    ("status", "exception", "code"),
    [
        (429, SellingApiRequestThrottledException, "QuotaExceeded"),
        (500, SellingApiServerException, "InternalFailure"),
        (503, SellingApiTemporarilyUnavailableException, "ServiceUnavailable"),
        (504, SellingApiGatewayTimeoutException, "GatewayTimeout"),
        (403, SellingApiForbiddenException, "Unauthorized"),
    ],
)
def test_status_faults_raise_the_matching_exception_then_stop(sandbox, api, status, exception, code):
    # Given a fault limited to getOrders, twice
    assert put_faults(sandbox, [{"operation": "getOrders", "status": status, "times": 2}]).status_code == 200
    client = api(Orders)
    # When getOrders is called three times
    for _ in range(2):
        with pytest.raises(exception) as raised:
            client.get_orders(CreatedAfter=SINCE)
        assert raised.value.amzn_code == code
    # Then the third succeeds, and other operations were never touched
    assert client.get_orders(CreatedAfter=SINCE).payload["Orders"] is not None
    api(Inventories).get_inventory_summary_marketplace()
    assert httpx.get(f"{sandbox.url}/_sandbox/sellers/acme-us/faults").json() == []


def test_fixed_and_random_latency(sandbox, api):
    sandbox.state.set_faults(
        "acme-us", [{"latencyMs": 300, "times": 1}, {"latencyMs": {"min": 100, "max": 150}}]
    )
    client = api(Orders)
    started = time.monotonic()
    client.get_orders(CreatedAfter=SINCE)
    first = time.monotonic() - started
    started = time.monotonic()
    client.get_orders(CreatedAfter=SINCE)
    second = time.monotonic() - started
    assert first >= 0.4 and 0.1 <= second < 0.4
    assert sandbox.state.get_faults("acme-us") == [{"latencyMs": {"min": 100, "max": 150}}]


def test_reset_drops_the_connection(sandbox, api):
    # Given a reset fault
    put_faults(sandbox, [{"reset": True, "times": 1}])
    client = api(Orders)
    # When getOrders is called, the library's httpx transport sees the connection reset
    with pytest.raises(httpx.ReadError):
        client.get_orders(CreatedAfter=SINCE)
    # Then the next call works, and the stats count one failure
    client.get_orders(CreatedAfter=SINCE)
    assert sandbox.state.get_stats()["acme-us"]["getOrders"] == {"served": 1, "throttled": 0, "failed": 1}


def test_malformed_body_is_returned_as_an_empty_success(sandbox, api):
    # Given a malformed-body fault
    put_faults(sandbox, [{"malformed": True, "times": 1}])
    # When getOrders is called, the library swallows the JSON error: no exception, no payload
    response = api(Orders).get_orders(CreatedAfter=SINCE)
    assert response.payload == {} and response.next_token is None and response.errors is None
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("error", "status"), [("invalid_grant", 400), ("invalid_client", 401)])
def test_lwa_faults_raise_authorization_error(sandbox, api, error, status):
    put_faults(sandbox, [{"lwa": error}])
    with pytest.raises(AuthorizationError) as raised:
        api(Sales).get_order_metrics(interval=(SINCE, iso(START)), granularity=Granularity.TOTAL)
    assert (raised.value.error_code, raised.value.status_code) == (error, status)
    assert sandbox.state.get_stats()["acme-us"]["lwaToken"]["failed"] == 1


def test_status_fault_on_the_token_exchange(sandbox, api):
    put_faults(sandbox, [{"operation": "lwaToken", "status": 503, "times": 1}])
    with pytest.raises(AuthorizationError) as raised:
        api(Orders).get_orders(CreatedAfter=SINCE)
    assert raised.value.status_code == 503
    api(Orders).get_orders(CreatedAfter=SINCE)


@pytest.mark.parametrize(
    ("fault", "exception"), [({"malformed": True}, json.JSONDecodeError), ({"reset": True}, httpx.ReadError)]
)
def test_malformed_and_reset_token_exchange(sandbox, api, fault, exception):
    # Unlike SP-API calls, the token exchange does not swallow a non-JSON body
    put_faults(sandbox, [fault | {"operation": "lwaToken", "times": 1}])
    with pytest.raises(exception):
        api(Orders).get_orders(CreatedAfter=SINCE)
    api(Orders).get_orders(CreatedAfter=SINCE)


def test_expired_next_token_fault_only_hits_requests_with_a_token(sandbox, api, clock):
    httpx.put(f"{sandbox.url}/_sandbox/sellers/acme-us/profile", json={"skus": 120})
    put_faults(sandbox, [{"expiredNextToken": True, "times": 1}])
    client = api(Inventories)
    first = client.get_inventory_summary_marketplace()
    with pytest.raises(SellingApiBadRequestException) as raised:
        client.get_inventory_summary_marketplace(nextToken=first.next_token)
    assert raised.value.message == "Next token is invalid or expired"
    # The token itself is still good: a retry of the same page works
    clock.advance(seconds=1)
    client.get_inventory_summary_marketplace(nextToken=first.next_token)


@pytest.mark.parametrize(
    ("faults", "named"),
    [
        ({"status": 500}, "list"),
        ([{"status": 418}], "status"),
        ([{"status": 500, "colour": "red"}], "colour"),
        ([{"status": 500, "latencyMs": 5}], "exactly one"),
        ([{"latencyMs": {"min": 5}}], "latencyMs"),
        ([{"latencyMs": -1}], "latencyMs"),
        ([{"reset": "yes"}], "reset"),
        ([{"lwa": "invalid_scope"}], "lwa"),
        ([{"lwa": "invalid_grant", "operation": "getOrders"}], "operation"),
        ([{"status": 500, "operation": "getFoo"}], "operation"),
        ([{"status": 500, "times": 0}], "times"),
        ([{"malformed": True}, "x"], "faults[1]"),
    ],
)
def test_bad_faults_get_400_naming_the_field(sandbox, faults, named):
    response = put_faults(sandbox, faults)
    assert response.status_code == 400
    assert named in response.json()["errors"][0]["details"]
    assert httpx.get(f"{sandbox.url}/_sandbox/sellers/acme-us/faults").json() == []
