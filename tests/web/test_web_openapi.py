"""The OpenAPI document validates, and the API answers every generated request as it says.

The schema-driven run is reproducible: hypothesis is derandomized (its seed is derived from the test
itself, so every run and every machine sends the same requests) and keeps no example database.
What it asserts is the contract of the README's REST API, not schemathesis's guesses:
- the token is part of every case, not generated: headers are not parameters of this API, so
  schemathesis never "negates" them into a request the API rightly accepts (an unknown extra header
  such as ``5.: -Infinity`` made the negative cases fail one run in two);
- a request whose parameters or body break the document is refused with a 4xx, and never a 5xx;
- a 400 names the parameter or field it refuses (or the body, when the body as a whole is not JSON);
- a refused request writes nothing: every document and every Redis key of the namespace are as before.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import given
from openapi_spec_validator import validate
from schemathesis import GenerationMode

from tests.security.snapshot import store_snapshot
from tests.support.properties import derandomized
from tests.web.factory import TOKEN
from web.apidoc import Part
from web.health import Health
from web.openapi import build_document, merge

BASE = "/app/job-status"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


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


def body_fields(schema, components: dict) -> set[str]:
    """Every property name the document declares anywhere in a request body's schema."""
    if isinstance(schema, list):
        return set().union(*(body_fields(s, components) for s in schema))
    if not isinstance(schema, dict):
        return set()
    if "$ref" in schema:
        return body_fields(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    return set(schema.get("properties", {})) | set().union(
        *(body_fields(value, components) for value in schema.values())
    )


def names_the_field(description: str, case) -> bool:
    """Whether a 400's description names what it refuses: a parameter, a body field, or the body."""
    document = build_document()
    body = document["paths"][case.operation.path][case.method.lower()].get("requestBody", {})
    names = {*(case.path_parameters or {}), *(case.query or {})}
    names |= {p.name for p in case.operation.iter_parameters()}
    names |= body_fields(body, document["components"]["schemas"])
    if isinstance(case.body, dict):
        names |= {str(k)[:64] for k in case.body}
    # Falcon quotes the name it refuses: 'The "limit" parameter is invalid.', '"userIds[3]"', '""'.
    return "body" in description or any(
        (f'"{name}' if name else '""') in description for name in names - {"body"}
    )


# Negative cases need something to break: operations without parameters or body get positive ones only.
CASES = [
    pytest.param(path, method, mode, id=f"{method.upper()} {path} {mode.value}")
    for path, item in build_document()["paths"].items()
    for method, operation in item.items()
    for mode in GenerationMode
    if mode == GenerationMode.POSITIVE or operation.get("parameters") or operation.get("requestBody")
]


@pytest.mark.parametrize("path, method, mode", CASES)
def test_the_api_keeps_its_documented_contract(
    app, make_user, job, redis_client, settings, path, method, mode
):
    # Given a few real records, so that success responses are checked too, not only 4xx
    make_user("u1")
    job("u1", "failed", error=("TransientSpApiError", "503"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    # A body over the cap is refused with 413 before it is read (documented as such); schemathesis's
    # default list of rejection codes lacks 413
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    operation = schema[path][method]
    namespace = settings.redis_namespace

    # When schemathesis generates valid requests (positive) and invalid ones (negative) from the
    # document, each with the token (schemathesis.pytest's fixture loader does not run on pytest 9,
    # so hypothesis drives the operation's strategy directly)
    @given(case=operation.as_strategy(generation_mode=mode, headers=dict(AUTH)))
    @derandomized(25)
    def check(case):
        response = case.call(headers=AUTH)
        # Then no answer is a server error
        assert response.status_code < 500, case.as_curl_command()
        # And every answer is documented: known status, content type, headers and body schema; and a
        # request that breaks a parameter or the body is refused with a 4xx
        case.validate_response(response, headers=AUTH)
        if response.status_code == 400:
            # And a 400 names what it refuses
            description = response.json().get("description", "")
            assert names_the_field(description, case), (description, case.as_curl_command())
        # And a refused request wrote nothing (the store is as the last accepted request left it)
        now = store_snapshot(redis_client, namespace)
        if 400 <= response.status_code < 500:
            assert now == state[0], case.as_curl_command()
        state[0] = now

    state = [store_snapshot(redis_client, namespace)]
    check()


def test_an_unknown_extra_header_is_not_a_parameter_and_is_ignored(client, make_user, job):
    # Given a failed job (the reproduction printed when the negative case failed one run in two)
    make_user("u1")
    failed = job("u1", "failed", error=("TransientSpApiError", "503"))
    # When the failed list is asked for with a header the API does not know
    result = client.simulate_get(f"{BASE}/failed", params={"limit": 1}, headers={"5.": "-Infinity"})
    # Then it answers as without it: headers are not parameters of this API
    assert result.status_code == 200
    assert [j["jobId"] for j in result.json["jobs"]] == [failed.job_id]


def test_a_path_or_schema_declared_by_two_parts_is_refused():
    # Given two parts that both declare the health route and a schema of the same name
    first = Part({"/health": Health}, {"Health": {"type": "object"}})
    second = Part({"/health": Health}, {"Health": {"type": "object"}})
    # When they are merged, then the document is not built
    with pytest.raises(ValueError, match="/health"):
        merge([first, second])
