"""Request bodies (issue 19): JSON is the only media type, nesting is bounded, and a route that takes no
body never reads one. No body can make the API answer 500 or show a Python internal."""

from __future__ import annotations

import time

import pytest

BASE = "/app/job-status"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DEEP = b"[" * 2000
PUBLIC_GETS = ["/health", "/ready", "/metrics", "/openapi.json", f"{BASE}/"]


@pytest.mark.parametrize("path", PUBLIC_GETS)
def test_a_public_route_ignores_any_body_deep_or_malformed(anonymous, path):
    # Given a stranger's GET with a JSON content type and a body 2,000 brackets deep, or not JSON at all
    for body in (DEEP, b"{bad"):
        # When a public route is asked
        result = anonymous.simulate_get(path, body=body, headers=JSON)
        # Then it answers as without a body: the route takes none, so it never parses one
        assert result.status_code == 200, (path, body[:8], result.text[:200])


def test_a_deeply_nested_body_is_a_400_naming_the_depth_limit(client, make_user):
    # Given a sync body nested 1,000 deep
    make_user("u1")
    body = b'{"userIds": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    # When it is posted
    result = client.simulate_post(f"{BASE}/sync", body=body, headers=JSON)
    # Then it is a 400 that names the body and the rule, not a 500
    assert result.status_code == 400, result.text[:300]
    assert "body" in result.json["description"] and "deep" in result.json["description"]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("PUT", "/app/users/u1/accounts/US", "sellerId=A1B2C3D4E5F6G7&refreshToken=Atzr|sandbox-acme-us"),
        ("PUT", "/app/users/u2", ""),
        ("POST", f"{BASE}/sync", "userIds=u1"),
        ("POST", f"{BASE}/sync", "$where=1"),
    ],
)
def test_a_form_body_is_a_415_and_changes_nothing(client, make_user, snapshot, method, path, body):
    # Given a user, and a form body where JSON is expected
    make_user("u1")
    before = snapshot()
    # When it is sent
    result = client.simulate_request(method, path, body=body, headers=FORM)
    # Then it is refused as an unsupported media type, and nothing is written
    assert result.status_code == 415, result.text[:300]
    assert "application/json" in result.json["description"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "text/plain", "application/json; charset=latin-1", None],
)
def test_any_other_media_type_is_a_415(client, make_user, content_type):
    # Given a valid JSON sync body sent under another media type (or none at all)
    make_user("u1")
    headers = {"Content-Type": content_type} if content_type else {}
    # When it is posted
    result = client.simulate_post(f"{BASE}/sync", body='{"userIds": ["u1"]}', headers=headers)
    # Then it is a 415 before any handler runs
    assert result.status_code == 415, result.text[:300]


def test_json_with_a_utf8_charset_is_accepted(client, make_user):
    make_user("u1")
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    result = client.simulate_post(f"{BASE}/sync", body='{"userIds": ["u1"]}', headers=headers)
    assert result.status_code == 202, result.text


def test_a_body_type_is_checked_only_after_the_token(anonymous):
    # An anonymous caller learns nothing about a route's body: 401 first
    result = anonymous.simulate_post(f"{BASE}/sync", body="userIds=u1", headers=FORM)
    assert result.status_code == 401


@pytest.mark.parametrize(
    "body, words",
    [
        (b'{"userIds": [' + b"1" * 5000 + b"]}", ["body", "digits"]),
        (b'{"userIds": ["u1\xff"]}', ["body", "UTF-8"]),
        (b'{"userIds": [NaN]}', ["body", "NaN"]),
        (b'{"userIds": ["u1"], "userIds": ["u2"]}', ['"userIds"', "twice"]),
        (b'{"userIds": ', ["body", "JSON"]),
    ],
    ids=["huge-number", "not-utf8", "nan", "duplicate-key", "truncated"],
)
def test_a_malformed_body_is_a_400_naming_the_rule_never_a_python_internal(client, make_user, body, words):
    # Given a body that is not the JSON the API reads
    make_user("u1")
    # When it is posted
    result = client.simulate_post(f"{BASE}/sync", body=body, headers=JSON)
    # Then the 400 names the rule, and says nothing of Python
    assert result.status_code == 400, result.text[:300]
    description = result.json["description"]
    for word in words:
        assert word in description, description
    for internal in ("sys.set_int_max_str_digits", "codec", "position", "Traceback"):
        assert internal not in description, description


def test_a_route_without_a_body_ignores_one_after_the_token(client, make_user, job):
    # Given a failed job, and a retry sent with a malformed body it does not need
    make_user("u1")
    failed = job("u1", "failed", error=("TransientSpApiError", "503"))
    # When it is posted
    result = client.simulate_post(f"{BASE}/job/{failed.job_id}/retry", body=DEEP, headers=JSON)
    # Then the retry happens: the body was never read
    assert result.status_code == 202, result.text[:300]


def test_a_body_built_to_make_the_depth_scan_backtrack_is_refused_at_once(client):
    # Given a 60 KB unterminated string of escaped quotes (quadratic for a regular expression of strings)
    body = b'{"userIds": ["' + b'\\"' * 30_000
    # When it is posted
    started = time.monotonic()
    result = client.simulate_post(f"{BASE}/sync", body=body, headers=JSON)
    # Then it is a 400 naming the body, in far less than a second
    assert result.status_code == 400 and "body" in result.json["description"]
    assert time.monotonic() - started < 1.0
