"""Fixtures of the web tests: the app on the session's settings, clients with and without a token,
and job records written straight into the store (the API reads records; workers are not needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import falcon.testing
import pytest

from tests.support.browser import chromium
from tests.web.factory import TOKEN, make_job
from web.app import create_app
from web.config import WebConfig
from web.devserver import serve_in_thread


@pytest.fixture
def web_config(settings) -> WebConfig:
    # Stats computed on every request: a test that just changed a record sees it at once.
    return WebConfig(settings=settings, stats_max_age_seconds=0)


@pytest.fixture
def app(web_config, producer) -> falcon.App:
    return create_app(web_config, producer=producer)


@pytest.fixture
def client(app) -> falcon.testing.TestClient:
    """A client that sends the test token."""
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def anonymous(app) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@pytest.fixture
def job() -> Callable[..., object]:
    return make_job


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Debian chromium (tests.support.browser), one per module."""
    yield from chromium()


@pytest.fixture
def dashboard(app) -> Iterator[str]:
    """The dashboard's URL, the app served over HTTP in this process."""
    with serve_in_thread(app, "127.0.0.1", 0) as server:
        yield f"{server.url}/app/job-status/"
