"""Fixtures of the security tests: the web tests' app and clients (reused from tests/web, not copied),
a snapshot of the store, and a headless Chromium like tests/web/test_web_dashboard_browser.py's."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.security.snapshot import store_snapshot
from tests.web.conftest import anonymous, app, client, job, producer, web_config  # noqa: F401

CI = os.environ.get("CI") == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def snapshot(redis_client, settings) -> Callable[[], tuple]:
    """``snapshot()``: the store now; two equal snapshots mean nothing was written in between."""
    return lambda: store_snapshot(redis_client, settings.redis_namespace)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright; skips locally without them, fails in CI."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        if CI:
            raise
        pytest.skip(f"playwright is not installed: {exc}")
    if not Path(CHROMIUM).exists():
        if CI:
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
