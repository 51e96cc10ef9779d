"""Dev mode's web process, the Procfile's ``web`` line under gunicorn (issue 19): it listens on
127.0.0.1 unless WEB_BIND says otherwise, and its access log never holds a query string's values."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from devmode.topology import start
from embedded.ports import free_port
from services.settings import configure
from tests.support import wait_for

pytestmark = pytest.mark.e2e

LISTENING = re.compile(r"Listening at: http://([0-9.]+):(\d+)")


@pytest.fixture
def dev_web(settings, sandbox, tmp_path) -> Iterator[tuple[str, list[str]]]:
    """Dev mode's topology with its web process only, on a free port; yields its URL and output lines."""
    lines: list[str] = []
    with (tmp_path / "dev.log").open("w") as log:
        on_a_free_port = configure(settings, port=free_port())
        running = start(on_a_free_port, out=log, say=lambda line: None, processes=("web",))
        running.supervisor.on_line = lambda name, line: lines.append(line)
        try:
            url = f"http://127.0.0.1:{running.settings.port}"
            wait_for(lambda: _answers(f"{url}/health"), timeout=30)
            yield url, lines
        finally:
            running.stop(timeout=20)
            configure(settings)  # start() installed dev mode's settings in this process too


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_dev_mode_serves_the_api_on_the_loopback_address_only(dev_web):
    # Given dev mode's web process, started without WEB_BIND
    url, lines = dev_web
    # When gunicorn says where it listens
    listening = [m.groups() for m in map(LISTENING.search, lines) if m]
    # Then it is 127.0.0.1, not every interface
    assert listening and {host for host, _ in listening} == {"127.0.0.1"}, lines[:20]


def test_the_access_log_has_the_path_but_no_query_values(dev_web):
    # Given a request that carries a token in its query string (the API never reads one from there)
    url, lines = dev_web
    # When it is served
    requests.get(f"{url}/health", params={"access_token": "s3cr3t-in-the-url", "probe": "1"}, timeout=5)
    # Then the access log has a line for it, with the path, and without the query's values
    logged = wait_for(lambda: [line for line in lines if '"GET /health' in line])
    assert all("s3cr3t" not in line for line in lines), logged
