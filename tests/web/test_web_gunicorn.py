"""One integration test against a real gunicorn serving ``web.app:get_app()``, as the Procfile does.

gunicorn's worker shares the test's Redis and document server: health and readiness, auth, a job the
test recorded, 404s, OpenAPI and the dashboard. The routes' behaviour in detail is covered in-process
by test_web_routes.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from embedded.ports import free_port
from tests.support import settings_env, start_child
from tests.web.factory import TOKEN

ROOT = Path(__file__).resolve().parents[2]
BASE = "/app/job-status"


@pytest.fixture
def gunicorn(settings) -> Iterator[str]:
    port = free_port()
    env = settings_env(settings, API_TOKENS=TOKEN, PORT=str(port))
    command = [sys.executable, "-m", "gunicorn", "web.app:get_app()", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--threads", "2", "--graceful-timeout", "5"]
    process = start_child(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}: {process.stdout.read().decode()}")
            try:
                requests.get(f"{url}/health", timeout=1)
                break
            except requests.RequestException:  # not listening yet, or its worker still booting
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 30 s")
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.e2e
def test_gunicorn_serves_the_app(gunicorn, broker, make_user, producer):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # Health and readiness see the real Redis and the worker's store
    ready = requests.get(f"{gunicorn}/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": {"ok": True}, "mongodb": {"ok": True}}
    # A data route without a token is refused with a challenge
    refused = requests.get(f"{gunicorn}{BASE}/queue/stats", timeout=5)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    # With the token: queue stats, an empty recent list, 404 for unknown job and user, 400 by name
    stats = requests.get(f"{gunicorn}{BASE}/queue/stats", headers=auth, timeout=5)
    assert stats.status_code == 200 and stats.json()["queue"] == "sync"
    assert requests.get(f"{gunicorn}{BASE}/recent", headers=auth, timeout=5).json() == {"jobs": []}
    assert (
        requests.get(f"{gunicorn}{BASE}/status/job/{uuid.uuid4()}", headers=auth, timeout=5).status_code
        == 404
    )
    # A job this test recorded is read back by gunicorn's worker from the shared store
    make_user("u-gunicorn")
    recorded = producer.enqueue_user("u-gunicorn")
    job = requests.get(f"{gunicorn}{BASE}/status/job/{recorded.job_id}", headers=auth, timeout=5)
    assert job.status_code == 200 and job.json()["userId"] == "u-gunicorn"
    sync = requests.post(f"{gunicorn}{BASE}/sync", json={"userIds": ["nobody"]}, headers=auth, timeout=5)
    assert sync.status_code == 404 and "nobody" in sync.json()["description"]
    bad = requests.get(f"{gunicorn}{BASE}/failed", params={"limit": 0}, headers=auth, timeout=5)
    assert bad.status_code == 400 and '"limit"' in bad.json()["description"]
    # Open routes
    assert requests.get(f"{gunicorn}/openapi.json", timeout=5).json()["openapi"].startswith("3.")
    assert "sellersync_queue_depth" in requests.get(f"{gunicorn}/metrics", timeout=5).text
    page = requests.get(f"{gunicorn}{BASE}/", timeout=5)
    assert page.status_code == 200 and "dashboard.js" in page.text


@pytest.mark.e2e
def test_gunicorn_stops_with_one_line_on_a_malformed_setting(settings):
    # Given a malformed setting
    env = {**os.environ, "REDIS_URL": settings.redis_url, "JOB_MAX_RETRIES": "many"}
    command = [sys.executable, "-m", "gunicorn", "web.app:get_app()", "--bind", f"127.0.0.1:{free_port()}"]
    # When gunicorn starts the app
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    # Then the master halts (no restart loop) and the reason is one line naming the variable
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("sellersync:")]
    assert lines == ["sellersync: JOB_MAX_RETRIES: expected a whole number (got 'many')"]
