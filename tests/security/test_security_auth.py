"""Every /app route refuses a missing, wrong or wrong-scheme token with 401 and a Bearer challenge.

The table is every /app operation of the OpenAPI document, so a new route joins it by being
documented; a route the app serves but the table lacks fails the completeness test below. Only the
dashboard page, its no-slash redirect and its static files are open, as the README's REST API says
(they carry no data; a browser cannot send a token on navigation): they are excluded here by name.

Decision (web/auth.py): the scheme is case-insensitive (RFC 7235 section 2.1), so ``bearer <token>``
is accepted; the token is compared exactly, and is read only from the Authorization header.
"""

from __future__ import annotations

import falcon
import pytest

from tests.security.routes import PUBLIC, concrete, protected_operations
from tests.web.factory import TOKEN

REFUSED = {
    "no header": None,
    "empty header": "",
    "scheme only": "Bearer",
    "empty token": "Bearer ",
    "wrong token": "Bearer wrong-token-0123456789abcdef",
    "token with a suffix": f"Bearer {TOKEN}x",
    "token prefix": f"Bearer {TOKEN[:-1]}",
    "basic scheme": f"Basic {TOKEN}",
    "token scheme": f"Token {TOKEN}",
    "no scheme": TOKEN,
    "no space": f"Bearer{TOKEN}",
}


def served_app_routes(app: falcon.App) -> set[tuple[str, str]]:
    """(method, URI template) of every responder under /app that Falcon's router holds."""
    routes = set()

    def walk(nodes):
        for node in nodes:
            if node.resource is not None and node.uri_template.startswith("/app"):
                for method in falcon.constants.COMBINED_METHODS:
                    if hasattr(node.resource, f"on_{method.lower()}"):
                        routes.add((method, node.uri_template))
            walk(node.children)

    walk(app._router._roots)
    return routes


def assert_refused(result) -> None:
    assert result.status == falcon.HTTP_401, result.text
    assert result.headers["www-authenticate"].split()[0] == "Bearer"
    assert result.json["title"] == "Authentication required"


def test_the_table_covers_every_app_route_the_app_serves(app):
    # Given the routes Falcon serves under /app (the document writes {userId} where Falcon has {user_id})
    served = {
        (method, path.replace("{user_id}", "{userId}").replace("{job_id}", "{jobId}"))
        for method, path in served_app_routes(app)
    }
    # When the table is compared with them
    table = set(protected_operations())
    # Then every served route is in the table or public by name, and the table is not empty
    assert {(m, p) for m, p in served if p not in PUBLIC} == table
    assert ("POST", "/app/job-status/sync") in table and len(table) >= 9


@pytest.mark.parametrize("credentials", list(REFUSED.values()), ids=list(REFUSED))
@pytest.mark.parametrize("method, path", protected_operations(), ids=" ".join)
def test_every_app_route_refuses_a_missing_wrong_or_wrong_scheme_token(
    anonymous, snapshot, method, path, credentials
):
    # Given a request that would be valid but for its credentials
    headers = {"Content-Type": "application/json"}
    if credentials is not None:
        headers["Authorization"] = credentials
    before = snapshot()
    # When it is sent
    result = anonymous.simulate_request(method, concrete(path), headers=headers, body="{}")
    # Then it is refused with a Bearer challenge, and nothing was written
    assert_refused(result)
    assert snapshot() == before


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_scheme_is_case_insensitive_and_the_token_exact(anonymous, scheme):
    result = anonymous.simulate_get("/app/job-status/recent", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert result.status == falcon.HTTP_200
    upper = anonymous.simulate_get(
        "/app/job-status/recent", headers={"Authorization": f"{scheme} {TOKEN.upper()}"}
    )
    assert_refused(upper)


def test_a_token_in_the_url_is_not_a_credential(anonymous):
    # RFC 6750's ?access_token= leaks into logs and history: the API does not read it
    for name in ("access_token", "token", "apiToken"):
        assert_refused(anonymous.simulate_get("/app/job-status/recent", params={name: TOKEN}))


@pytest.mark.parametrize("path", ["/app/job-status/", "/app/job-status/static/dashboard.js"])
def test_the_dashboard_and_its_files_are_public_by_design(anonymous, path):
    assert anonymous.simulate_get(path).status == falcon.HTTP_200
    assert anonymous.simulate_get("/app/job-status").status == falcon.HTTP_301
