"""Debian's chromium driven by Playwright, for the dashboard tests (tests/web and tests/security).

Without playwright or /usr/bin/chromium the tests skip locally and fail in CI (``.ci/run`` installs
chromium; a downloaded browser is never used).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CI = os.environ.get("CI") == "true"
CHROMIUM = "/usr/bin/chromium"
#: Headless, and without the background connections a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> Iterator[object]:
    """Yield a launched browser (for a module-scoped fixture); skip or fail as above when there is none."""
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


def new_page(browser):
    """A page in a fresh context (no cookies or storage shared with another test), 10 s per action."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def sign_in(page, url: str, token: str) -> None:
    """Open the dashboard at ``url`` and sign in with ``token``."""
    page.goto(url)
    page.fill("#token", token)
    page.click("#login-button")
