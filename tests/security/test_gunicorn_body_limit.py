"""The body cap behind the real server: gunicorn, as the Procfile runs it, decodes a chunked body and
hands it to the app without a Content-Length; the app reads it with the cap."""

from __future__ import annotations

import json

import pytest
import requests

from tests.web.factory import TOKEN
from tests.web.test_web_gunicorn import gunicorn  # noqa: F401  (the fixture: a real gunicorn)
from web.security import MAX_BODY_BYTES

SYNC = "/app/job-status/sync"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def chunks(body: bytes, size: int = 4096):
    """A generator body: requests sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.e2e
def test_gunicorn_refuses_a_large_body_chunked_or_not_and_serves_a_small_chunked_one(gunicorn, make_user):  # noqa: F811
    # Given a user, and a sync body one byte over the cap
    make_user("u1")
    large = json.dumps({"userIds": ["u1"], "pad": ""}).encode()
    large = large.replace(b'"pad": ""', b'"pad": "' + b"x" * (MAX_BODY_BYTES + 1 - len(large)) + b'"')
    assert len(large) == MAX_BODY_BYTES + 1
    # When it is posted with its length, and chunked
    declared = requests.post(f"{gunicorn}{SYNC}", data=large, headers=HEADERS, timeout=10)
    chunked = requests.post(f"{gunicorn}{SYNC}", data=chunks(large), headers=HEADERS, timeout=10)
    # Then both are 413, with nosniff
    for result in (declared, chunked):
        assert result.status_code == 413, result.text
        assert result.headers["X-Content-Type-Options"] == "nosniff"
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    # And a small chunked body is read as any other: the user's sync is enqueued
    small = requests.post(
        f"{gunicorn}{SYNC}", data=chunks(b'{"userIds": ["u1"]}', 5), headers=HEADERS, timeout=10
    )
    assert small.status_code == 202, small.text
    assert [job["userId"] for job in small.json()["jobs"]] == ["u1"]
