"""Admin routes: stats, reset, profiles, hand-made data; and ``python -m sandbox``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sp_api.api import Inventories, Orders
from sp_api.base.exceptions import SellingApiServerException

from tests.sandbox.conftest import START
from tests.sandbox.helpers import all_orders, iso
from tests.support import start_child

ROOT = Path(__file__).resolve().parents[2]
SINCE = iso(START.replace(day=1))


def test_stats_count_per_seller_and_operation_including_lwa(sandbox, admin, api):
    api(Orders).get_orders(CreatedAfter=SINCE)
    api(Orders, seller="globex").get_orders(CreatedAfter=SINCE)
    admin.put("/_sandbox/sellers/globex/faults", json=[{"status": 500, "times": 1}])
    with pytest.raises(SellingApiServerException):
        api(Orders, seller="globex").get_orders(CreatedAfter=SINCE)
    assert admin.get("/_sandbox/stats").json() == {
        "acme-us": {
            "lwaToken": {"served": 1, "throttled": 0, "failed": 0},
            "getOrders": {"served": 1, "throttled": 0, "failed": 0},
        },
        "globex": {
            "lwaToken": {"served": 1, "throttled": 0, "failed": 0},
            "getOrders": {"served": 1, "throttled": 0, "failed": 1},
        },
    }


def test_reset_forgets_everything(sandbox, admin, api):
    admin.put("/_sandbox/sellers/acme-us/profile", json={"orders": 0})
    admin.put("/_sandbox/sellers/acme-us/faults", json=[{"latencyMs": 1}])
    api(Orders).get_orders(CreatedAfter=SINCE)
    assert admin.post("/_sandbox/reset").status_code == 200
    assert admin.get("/_sandbox/stats").json() == {}
    assert admin.get("/_sandbox/sellers/acme-us/faults").json() == []
    assert admin.get("/_sandbox/sellers/acme-us/profile").json()["orders"] > 0


def test_profiles_size_sellers_and_default_sizes_vary(sandbox, admin, api):
    sizes = {admin.get(f"/_sandbox/sellers/seller-{n}/profile").json()["orders"] for n in range(20)}
    assert len(sizes) > 5 and min(sizes) >= 5 and max(sizes) <= 150
    answer = admin.put("/_sandbox/sellers/acme-us/profile", json={"orders": 0, "currency": "EUR"})
    assert answer.json() == {"orders": 0, "skus": answer.json()["skus"], "days": 30, "currency": "EUR"}
    assert all_orders(api(Orders), CreatedAfter=iso(START.replace(month=2))) == []
    admin.put("/_sandbox/sellers/acme-us/profile", json={"orders": 50, "currency": "EUR"})
    orders = all_orders(api(Orders), CreatedAfter=iso(START.replace(month=2)))
    assert orders and {o["OrderTotal"]["CurrencyCode"] for o in orders if "OrderTotal" in o} == {"EUR"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"orders": 10_001}, "orders"),
        ({"orders": -1}, "orders"),
        ({"days": 0}, "days"),
        ({"currency": "eur"}, "currency"),
        ({"size": "large"}, "size"),
        ([1, 2], "object"),
    ],
)
def test_bad_profiles_get_400_naming_the_field(admin, body, named):
    response = admin.put("/_sandbox/sellers/acme-us/profile", json=body)
    assert response.status_code == 400 and named in response.json()["errors"][0]["details"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"orders": [{"AmazonOrderId": "1"}]}, "orders[0].PurchaseDate"),
        ({"orders": {}}, "orders"),
        ({"inventory": [{"asin": "B1"}]}, "sellerSku"),
        ({"orderMetrics": [{"interval": "x"}]}, "orderMetrics[0]"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_data_gets_400_naming_the_field(admin, body, named):
    response = admin.put("/_sandbox/sellers/acme-us/data", json=body)
    assert response.status_code == 400 and named in response.json()["errors"][0]["details"]


def test_hand_made_inventory_is_served_as_given(admin, api):
    rows = [
        {
            "sellerSku": f"S-{n}",
            "asin": "B1",
            "totalQuantity": n,
            "inventoryDetails": {"fulfillableQuantity": n},
        }
        for n in range(3)
    ]
    admin.put("/_sandbox/sellers/acme-us/data", json={"orders": [], "inventory": rows})
    served = api(Inventories).get_inventory_summary_marketplace(details=True).payload["inventorySummaries"]
    assert served == rows


def test_unknown_route_and_bad_seller_name_use_amazons_error_shape(admin):
    missing = admin.get("/orders/v1/nothing")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    assert missing.headers["x-amzn-RequestId"]
    bad = admin.put("/_sandbox/sellers/a%20b/faults", json=[])
    assert bad.status_code == 400 and "seller" in bad.json()["errors"][0]["details"]


@pytest.mark.parametrize(
    "args", [["--port", "http"], ["--port", "70000"], ["--time-scale", "0"], ["--colour"]]
)
def test_main_rejects_bad_arguments_in_one_line(args):
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("sandbox: error:")


def test_main_serves_until_interrupted():
    server = start_child(
        [sys.executable, "-m", "sandbox", "--port", "0", "--time-scale", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        url = line.split()[4]
        assert "time scale 60" in line
        assert httpx.get(f"{url}/_sandbox/stats").json() == {}
    finally:
        server.terminate()
        server.wait(timeout=10)
