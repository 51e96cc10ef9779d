"""The OpenAPI document validates, and the API answers every generated request as it says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode

from tests.web.factory import TOKEN
from web.openapi import build_document

BASE = "/app/job-status"


def test_the_document_is_valid_openapi_3(anonymous):
    document = anonymous.simulate_get("/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_document_names_every_route_of_the_app(app):
    # Given the routes the app serves (Falcon's router knows them)
    served = set()

    def walk(nodes):
        for node in nodes:
            if node.resource is not None:
                served.add(node.uri_template)
            walk(node.children)

    walk(app._router._roots)
    # When the document's paths are compared (Falcon's {user_id} is the document's {userId})
    documented = {
        p.replace("{userId}", "{user_id}").replace("{jobId}", "{job_id}") for p in build_document()["paths"]
    }
    # Then every route is documented; only the no-slash redirect to the dashboard is left out
    assert served - documented == {BASE}
    assert documented <= served


# Negative cases need something to break: operations without parameters or body get positive ones only.
CASES = [
    pytest.param(path, method, mode, id=f"{method.upper()} {path} {mode.value}")
    for path, item in build_document()["paths"].items()
    for method, operation in item.items()
    for mode in GenerationMode
    if mode == GenerationMode.POSITIVE or operation.get("parameters") or operation.get("requestBody")
]


@pytest.mark.parametrize("path, method, mode", CASES)
def test_the_api_keeps_its_documented_contract(app, make_user, job, path, method, mode):
    # Given a few real records, so that success responses are checked too, not only 4xx
    make_user("u1")
    job("u1", "failed", error=("TransientSpApiError", "503"))
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app)[path][method]

    # When schemathesis generates valid requests (positive) and invalid ones (negative) from the
    # document (schemathesis.pytest's fixture loader does not run on pytest 9, so hypothesis drives
    # the operation's strategy directly)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(case):
        # Then every answer is documented: no 5xx, known status, content type, headers and body
        # schema; and an invalid request is refused with a 4xx
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})

    check()
