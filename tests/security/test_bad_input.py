"""Bad input at the API: MongoDB operators and oversized bodies are refused by name, and nothing is written.

Table-driven from the OpenAPI document, so a new route or body field joins the tables by being
documented. (The schema-driven run over every operation is tests/web/test_web_openapi.py.)
"""

from __future__ import annotations

import io
import json

import falcon
import pytest

from tests.security.routes import concrete
from web.openapi import build_document
from web.security import MAX_BODY_BYTES

DOCUMENT = build_document()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in DOCUMENT["paths"].items()
    if path.startswith("/app") and path != "/app/job-status/"
    for method, operation in item.items()
]
WITH_BODY = [(m, p, o) for m, p, o in OPERATIONS if "requestBody" in o]


def body_properties(operation: dict) -> list[str]:
    """The top-level fields of an operation's JSON body, as the document declares them."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return list(schema["properties"])


def ids(rows) -> list[str]:
    return [f"{row[0]} {row[1]}" + (f" {row[2]}" if isinstance(row[2], str) else "") for row in rows]


QUERY_OPERATORS = ["status[$ne]", "limit[$gt]", "$where", "userId[$regex]"]
QUERY_CASES = [(m, p, name) for m, p, _ in OPERATIONS for name in QUERY_OPERATORS]


def assert_refused_naming(result, field: str) -> None:
    assert result.status == falcon.HTTP_400, result.text
    assert f'"{field}"' in result.json["description"], result.json


@pytest.mark.parametrize("method, path, name", QUERY_CASES, ids=ids(QUERY_CASES))
def test_an_operator_in_a_query_string_is_refused_by_name(client, make_user, snapshot, method, path, name):
    # Given a user, and a query parameter shaped like a MongoDB operator (qs-style brackets or $)
    make_user("u1")
    before = snapshot()
    # When it is sent to any /app operation
    result = client.simulate_request(
        method,
        concrete(path),
        query_string=f"{name}=x",
        headers={"Content-Type": "application/json"},
        body="{}",
    )
    # Then it is a 400 naming the parameter, and nothing was written
    assert_refused_naming(result, name)
    assert snapshot() == before


BODY_CASES = [(m, p, field) for m, p, o in WITH_BODY for field in body_properties(o)]


@pytest.mark.parametrize("method, path, field", BODY_CASES, ids=ids(BODY_CASES))
@pytest.mark.parametrize("operator", [{"$ne": None}, {"$gt": ""}, {"$where": "sleep(1000)"}], ids=str)
def test_an_operator_in_a_json_body_is_refused_by_name(
    client, make_user, snapshot, method, path, field, operator
):
    # Given a user, and a body whose field holds a MongoDB operator instead of a value
    make_user("u1")
    before = snapshot()
    # When it is sent
    result = client.simulate_request(method, concrete(path), json={field: operator})
    # Then it is a 400 naming the field, and nothing was written
    assert_refused_naming(result, field)
    assert snapshot() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"userIds": [{"$ne": None}]}, "userIds[0]"),
        ({"userIds": ["u1", {"$in": ["u1"]}]}, "userIds[1]"),
        ({"userIds": ["u1"], "$where": "1"}, "$where"),
        ({"$or": [{"userIds": ["u1"]}]}, "$or"),
    ],
    ids=["in a list", "after a valid id", "beside the field", "at the top"],
)
def test_an_operator_anywhere_in_a_body_is_refused_by_its_place(client, make_user, snapshot, body, field):
    make_user("u1")
    before = snapshot()
    assert_refused_naming(client.simulate_post("/app/job-status/sync", json=body), field)
    assert snapshot() == before


def padded(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    body = json.dumps({"userIds": ["u1"], "pad": ""}).encode()
    return body.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(body)) + b'"')


@pytest.mark.parametrize("method, path, operation", WITH_BODY, ids=ids(WITH_BODY))
def test_a_body_over_64_kib_gets_413_whether_its_length_is_declared_or_chunked(
    client, make_user, snapshot, method, path, operation
):
    # Given a user, and a body one byte over the cap
    make_user("u1")
    body = padded(MAX_BODY_BYTES + 1)
    before = snapshot()
    # When it is sent with its Content-Length
    declared = client.simulate_request(
        method, concrete(path), body=body, headers={"Content-Type": "application/json"}
    )
    # Or chunked, as gunicorn hands a chunked body to the app (no Content-Length, the decoded bytes)
    chunked = client.simulate_request(
        method,
        concrete(path),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        extras={"wsgi.input": io.BytesIO(body)},
    )
    # Then both are refused as too large, naming the body and its cap, and nothing was written
    for result in (declared, chunked):
        assert result.status == falcon.HTTP_413, result.text
        assert f"body is at most {MAX_BODY_BYTES} bytes" in result.json["description"]
    assert snapshot() == before


def test_a_chunked_body_is_read_at_most_to_the_cap(client):
    # Given a chunked body of 10 MiB
    stream = io.BytesIO(b"[" + b"1," * (5 * 1024 * 1024) + b"1]")
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    # When it is sent
    result = client.simulate_post("/app/job-status/sync", headers=headers, extras={"wsgi.input": stream})
    # Then it is refused after reading no more than the cap and one byte
    assert result.status == falcon.HTTP_413
    assert stream.tell() == MAX_BODY_BYTES + 1


def test_a_body_of_exactly_64_kib_is_read_and_judged_on_its_content(client, make_user):
    make_user("u1")
    result = client.simulate_post(
        "/app/job-status/sync", body=padded(MAX_BODY_BYTES), headers={"Content-Type": "application/json"}
    )
    # Not 413: the body was parsed, and its unknown field is refused by name
    assert_refused_naming(result, "pad")


def test_a_chunked_body_within_the_cap_works_like_any_other(client, make_user):
    # Given a user, and a chunked sync request for it
    make_user("u1")
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    stream = io.BytesIO(json.dumps({"userIds": ["u1"]}).encode())
    # When it is sent
    result = client.simulate_post("/app/job-status/sync", headers=headers, extras={"wsgi.input": stream})
    # Then the sync is enqueued
    assert result.status == falcon.HTTP_202, result.text
    assert [job["userId"] for job in result.json["jobs"]] == ["u1"]


#: A valid body of each operation that has one, by operationId: one field at a time is then spoiled.
VALID_BODIES = {
    "syncUsers": {"userIds": ["u1"]},
    "putUser": {"email": "u1@example.com", "syncEnabled": True},
    "putUserAccount": {"sellerId": "acme-us", "refreshToken": "Atzr|sandbox-acme-us"},
}


def test_every_operation_with_a_body_has_a_valid_body_here():
    assert {o["operationId"] for _, _, o in WITH_BODY} == set(VALID_BODIES)


SPOILED = [(m, p, o["operationId"], field) for m, p, o in WITH_BODY for field in body_properties(o)]


@pytest.mark.parametrize("method, path, operation, field", SPOILED, ids=[" ".join(r) for r in SPOILED])
def test_a_string_no_store_can_hold_is_refused_by_name(
    client, make_user, snapshot, method, path, operation, field
):
    # Given a valid body but for one field, a lone UTF-16 surrogate: valid JSON, but not UTF-8
    make_user("u1")
    spoiled = {**VALID_BODIES[operation], field: "SURROGATE"}
    if isinstance(VALID_BODIES[operation][field], list):
        spoiled[field] = ["SURROGATE"]
    body = json.dumps(spoiled).replace('"SURROGATE"', '"\\ud800"')
    before = snapshot()
    # When it is sent
    result = client.simulate_request(
        method, concrete(path), body=body, headers={"Content-Type": "application/json"}
    )
    # Then it is a 400 naming the field (not a 500 from the store's encoder), and nothing was written
    assert result.status == falcon.HTTP_400, result.text
    assert f'"{field}' in result.json["description"]
    assert snapshot() == before
