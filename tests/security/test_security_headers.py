"""Headers a browser relies on: nosniff on every response; a strict CSP and no framing on the dashboard."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.security.routes import UNKNOWN_JOB_ID
from web.config import STATIC_DIR

BASE = "/app/job-status"

#: (method, path, body, with token?) -> a spread of every kind of answer the app gives.
REQUESTS = [
    ("GET", "/health", None, False),
    ("GET", "/ready", None, False),
    ("GET", "/metrics", None, False),
    ("GET", "/openapi.json", None, False),
    ("GET", f"{BASE}/", None, False),
    ("GET", BASE, None, False),
    ("GET", f"{BASE}/static/dashboard.js", None, False),
    ("GET", f"{BASE}/static/dashboard.css", None, False),
    ("GET", f"{BASE}/static/missing.js", None, False),
    ("GET", f"{BASE}/recent", None, False),
    ("GET", f"{BASE}/recent", None, True),
    ("GET", f"{BASE}/queue/stats", None, True),
    ("GET", f"{BASE}/overview", None, True),
    ("GET", f"{BASE}/failed?limit=0", None, True),
    ("GET", f"{BASE}/status/job/{UNKNOWN_JOB_ID}", None, True),
    ("GET", f"{BASE}/status/user/nobody", None, True),
    ("POST", f"{BASE}/sync", '{"userIds": ["nobody"]}', True),
    ("POST", f"{BASE}/sync", "not json", True),
    ("POST", f"{BASE}/sync", '{"userIds": ["' + "x" * 70_000 + '"]}', True),
    ("DELETE", f"{BASE}/recent", None, True),
    ("GET", "/no/such/route", None, False),
]


@pytest.mark.parametrize(
    "method, path, body, with_token", REQUESTS, ids=[f"{r[0]} {r[1][:60]}" for r in REQUESTS]
)
def test_every_response_says_nosniff(client, anonymous, method, path, body, with_token):
    # Given any request: open or protected, valid or not, JSON, HTML, a static file, a 4xx
    caller = client if with_token else anonymous
    headers = {"Content-Type": "application/json"} if body else {}
    # When it is answered
    result = caller.simulate_request(method, path, body=body, headers=headers)
    # Then the answer forbids content sniffing
    assert result.headers.get("x-content-type-options") == "nosniff", (result.status, path)


def policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_the_dashboard_page_sends_a_strict_content_security_policy_and_denies_framing(anonymous):
    # When the dashboard page is fetched
    result = anonymous.simulate_get(f"{BASE}/")
    # Then its policy allows only our own script and style, no inline code, no eval, no plugins
    csp = policy(result.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'none'"]
    assert not any(
        "unsafe" in value or value in ("*", "data:") for values in csp.values() for value in values
    )
    # And it may not be framed, by browsers old or new
    assert result.headers["x-frame-options"] == "DENY"


class InlineCode(HTMLParser):
    """Collects whatever a strict CSP would block in a page: inline script and style of any kind."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}=")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")
        self._in = tag

    def handle_data(self, data):
        if self._in == "script" and data.strip():
            self.found.append("script body")


def test_the_dashboard_page_has_no_inline_script_or_style():
    # Given the page as served (the static file itself)
    parser = InlineCode()
    parser.feed((STATIC_DIR / "index.html").read_text())
    # Then it has no inline script, style, handler attribute or javascript: URL
    assert parser.found == []
