"""Fixtures of the security tests: the web tests' app and clients (reused from tests/web, not copied),
a snapshot of the store, and a headless Chromium like tests/web/test_web_dashboard_browser.py's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.security.snapshot import store_snapshot
from tests.web.conftest import anonymous, app, browser, client, dashboard, job, web_config  # noqa: F401


@pytest.fixture
def snapshot(redis_client, settings) -> Callable[[], tuple]:
    """``snapshot()``: the store now; two equal snapshots mean nothing was written in between."""
    return lambda: store_snapshot(redis_client, settings.redis_namespace)
