"""Dev mode's web process, the Procfile's ``web`` line under gunicorn (issue 19): it listens on
127.0.0.1 unless WEB_BIND says otherwise, its access log never holds a query string's values, and
clients that trickle their requests cannot take every thread for long."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from devmode.topology import start
from embedded.ports import free_port
from services.platform.settings import configure
from tests.support import wait_for
from web.gunicorn_worker import REQUEST_READ_SECONDS

pytestmark = pytest.mark.e2e

LISTENING = re.compile(r"Listening at: http://([0-9.]+):(\d+)")
THREADS = 2


@pytest.fixture
def dev_web(settings, sandbox, tmp_path) -> Iterator[tuple[str, list[str]]]:
    """Dev mode's topology with its web process only, on a free port; yields its URL and output lines."""
    lines: list[str] = []
    with (tmp_path / "dev.log").open("w") as log:
        on_a_free_port = configure(settings, port=free_port())
        # One gunicorn worker process of two threads: the slow-client test needs few connections to
        # take every thread.
        threads = {"WEB_CONCURRENCY": "1", "WEB_THREADS": str(THREADS)}
        running = start(on_a_free_port, out=log, say=lambda line: None, processes=("web",), extra_env=threads)
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


def trickle(url: str, stop: threading.Event) -> socket.socket:
    """A connection that sends a request head one header line every half second, never ending it."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")

    def go_on() -> None:
        with contextlib.suppress(OSError):
            while not stop.wait(0.5):
                sock.sendall(b"X-Slow: 1\r\n")

    threading.Thread(target=go_on, daemon=True).start()
    return sock


def test_clients_trickling_their_requests_cannot_stop_the_api(dev_web):
    # Given more connections than the web process has threads, each trickling its request head
    url, lines = dev_web
    stop = threading.Event()
    slow = [trickle(url, stop) for _ in range(THREADS + 2)]
    try:
        time.sleep(1)
        # When another client asks for health
        started = time.monotonic()
        answer = requests.get(f"{url}/health", timeout=REQUEST_READ_SECONDS * 3)
        # Then it is served, within the time the slow ones are given to send their requests
        assert answer.status_code == 200
        assert time.monotonic() - started < REQUEST_READ_SECONDS + 3
    finally:
        stop.set()
        for sock in slow:
            sock.close()
    # And the slow clients left no traceback in the log
    assert not [line for line in lines if "Traceback" in line or "[ERROR]" in line], lines[-20:]
