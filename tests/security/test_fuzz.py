"""Fuzzing the whole HTTP surface (issue 19): no request, with a token or without, reaches a 5xx or leaves
a traceback in the logs.

tests/web/test_web_openapi.py drives every operation from the document with schemathesis: requests
that keep or break the document's schemas, always as JSON and always with the token. This test sends
what a schema does not describe: bodies nested thousands deep, of the wrong type, not UTF-8, not JSON;
every media type but JSON; any method; path segments and query strings of any text; with the token and
without. The run is reproducible (hypothesis derandomized: a fixed seed, no example database) and
bounded (a few hundred requests, in-process, well under a minute).
"""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote, urlencode

import falcon.testing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.routes import PATH_VALUES, concrete
from tests.support.properties import derandomized
from tests.web.factory import TOKEN
from web.openapi import build_document

#: Every route of the document, as Falcon sees it; the dashboard's static files and an unknown path too.
PATHS = [*build_document()["paths"], "/app/job-status/static/{file}", "/app/{anything}"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MEDIA_TYPES = [
    None,
    "application/json",
    "application/json; charset=UTF-8",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/xml",
    "*/*",
    ";;=",
]
#: Headers a client may get wrong, one of them (or none) per request. (A malformed Content-Length
#: never reaches the app: gunicorn refuses it, and falcon.testing cannot send one.)
ODD_HEADERS = [
    {},
    {"Transfer-Encoding": "chunked"},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dTpw"},
    {"Accept": "text/html"},
    {"Accept": "application/xml"},
]
#: The fields the API's bodies have, and an operator, so that wrong-typed values meet real fields.
FIELDS = ["userIds", "email", "syncEnabled", "sellerId", "refreshToken", "$where", "x"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3).map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 20_000).map(lambda depth: b"[" * depth),
    st.integers(1, 3_000).map(lambda depth: b'{"userIds":' * depth + b"1" + b"}" * depth),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"{bad",
            b'{"userIds": ["u1"], "userIds": ["u2"]}',
            b'{"userIds": [' + b"9" * 5000 + b"]}",
            b'{"userIds": [NaN, Infinity]}',
            b'{"userIds": ["\\ud800"]}',
            b'{"userIds": ["u1\xff"]}',
            b"sellerId=A1&refreshToken=Atzr|x&$where=1",
        ]
    ),
)
segments = st.one_of(st.sampled_from([*PATH_VALUES.values(), "..", ".", "%ff"]), st.text(max_size=16))
params = st.tuples(st.sampled_from(["limit", "status", "$where", "x"]), st.text(max_size=8))
queries = st.lists(params, max_size=3)


@st.composite
def requests(draw) -> dict:
    path = draw(st.sampled_from(PATHS))
    values = {name: draw(segments) for name in ("userId", "jobId", "country", "file", "anything")}
    safe = {k: v if v == "%ff" else quote(v, safe="") for k, v in values.items()}
    media_type = draw(st.sampled_from(MEDIA_TYPES))
    headers = {"Content-Type": media_type} if media_type else {}
    if draw(st.booleans()):
        headers["Authorization"] = f"Bearer {TOKEN}"
    headers.update(draw(st.sampled_from(ODD_HEADERS)))
    return {
        "method": draw(st.sampled_from(METHODS)),
        "path": concrete(path, **{**safe, "user_id": safe["userId"], "job_id": safe["jobId"]}),
        "query_string": urlencode(draw(queries)),
        "headers": headers,
        "body": draw(bodies),
    }


class Tracebacks(logging.Handler):
    """Every log record that carries an exception, or says ERROR or worse."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


@pytest.fixture
def tracebacks():
    handler = Tracebacks()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def test_no_request_reaches_a_5xx_or_a_traceback(app, make_user, job, tracebacks):
    # Given a user and a failed job, so that some requests reach real records
    make_user("u1")
    job("u1", "failed", error=("TransientSpApiError", "503"))
    client = falcon.testing.TestClient(app)

    @given(request=requests())
    @derandomized(800)
    def check(request):
        # When anything is sent, with the token or without
        errors = io.StringIO()
        result = client.simulate_request(**request, extras={"wsgi.errors": errors})
        # Then the answer is never a server error, and nothing logged a traceback
        shown = {**request, "body": request["body"][:80]}
        assert result.status_code < 500, (shown, result.text[:300])
        assert errors.getvalue() == "", (shown, errors.getvalue()[-500:])
        assert tracebacks.records == [], (shown, tracebacks.records)

    check()
