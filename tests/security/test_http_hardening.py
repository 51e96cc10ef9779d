"""Issue 19's hardening of the HTTP surface: no caching of answers, one set of page headers wherever the
dashboard is served, HEAD wherever GET works, and one value per query parameter."""

from __future__ import annotations

import pytest

from tests.security.routes import concrete
from tests.security.test_bad_input import OPERATIONS, ids

BASE = "/app/job-status"
PAGE_PATHS = [f"{BASE}/", f"{BASE}/static/index.html"]
#: Every GET the app serves without a token, and a protected one.
GETS = ["/health", "/ready", "/metrics", "/openapi.json", *PAGE_PATHS, f"{BASE}/static/dashboard.js"]


@pytest.mark.parametrize("method, path, operation", OPERATIONS, ids=ids(OPERATIONS))
def test_every_authenticated_answer_says_no_store(client, make_user, method, path, operation):
    # Given any /app operation, answered with the token (success or error alike)
    make_user("u1")
    # When it is answered
    result = client.simulate_request(method, concrete(path), headers={"Content-Type": "application/json"})
    # Then no cache (browser, proxy) may keep the answer
    assert result.headers.get("cache-control") == "no-store", (result.status, path)


def test_a_refused_request_says_no_store_too(anonymous):
    result = anonymous.simulate_get(f"{BASE}/recent")
    assert result.status_code == 401 and result.headers.get("cache-control") == "no-store"


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_the_dashboard_page_has_its_security_headers_on_every_path_that_serves_it(anonymous, path):
    # When the page is fetched by any of its paths
    result = anonymous.simulate_get(path)
    # Then it is the page, with its policy, no framing and no referrer, whichever path served it
    assert result.status_code == 200 and "dashboard.js" in result.text
    assert "frame-ancestors 'none'" in result.headers.get("content-security-policy", "")
    assert result.headers.get("x-frame-options") == "DENY"
    assert result.headers.get("referrer-policy") == "no-referrer"


@pytest.mark.parametrize("path", [*GETS, f"{BASE}/recent"])
def test_head_answers_wherever_get_does_with_the_same_headers_and_no_body(client, path):
    # Given a route that answers GET
    got = client.simulate_get(path)
    # When it is asked with HEAD
    head = client.simulate_head(path)
    # Then HEAD answers as GET does, without a body
    assert head.status_code == got.status_code == 200, (path, head.status)
    assert head.headers.get("content-type") == got.headers.get("content-type")
    assert head.content == b""


def test_head_on_a_protected_route_needs_the_token(anonymous):
    assert anonymous.simulate_head(f"{BASE}/recent").status_code == 401


@pytest.mark.parametrize(
    "path, query, name",
    [
        (f"{BASE}/recent", "limit=5&limit=500", "limit"),
        (f"{BASE}/recent", "status=failed&status=completed", "status"),
        (f"{BASE}/status/user/u1", "limit=1&limit=2", "limit"),
        ("/health", "probe=1&probe=2", "probe"),
    ],
)
def test_a_repeated_query_parameter_is_a_400_naming_it(client, make_user, path, query, name):
    # Given a query string that gives one parameter twice (which one wins differs between servers)
    make_user("u1")
    # When it is sent
    result = client.simulate_get(path, query_string=query)
    # Then it is refused by name, not silently decided
    assert result.status_code == 400, result.text[:300]
    assert f'"{name}"' in result.json["description"] and "once" in result.json["description"]
