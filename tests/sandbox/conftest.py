"""Fixtures for the sandbox tests: a sandbox on a free port with a clock the test moves, and
real python-amazon-sp-api clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sp_api.auth.access_token_client as lwa_client
from sp_api.api import Orders
from sp_api.auth import AccessTokenClient
from sp_api.base import Marketplaces

from sandbox.config import SandboxConfig
from sandbox.server import RunningSandbox, start_sandbox

#: A Friday noon, far from any day boundary; every test starts here.
START = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def credentials(seller: str) -> dict:
    return dict(
        refresh_token=f"Atzr|sandbox-{seller}", lwa_app_id="sandbox-app", lwa_client_secret="sandbox-secret"
    )


@pytest.fixture(autouse=True)
def clear_lwa_cache() -> Iterator[None]:
    # The library caches access tokens module-wide by refresh token; every test has a new sandbox.
    lwa_client.cache.clear()
    yield
    lwa_client.cache.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Iterator[Callable[..., RunningSandbox]]:
    started: list[RunningSandbox] = []

    def make(**config) -> RunningSandbox:
        config.setdefault("clock", clock)
        sandbox = start_sandbox(config=SandboxConfig(**config))
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox) -> RunningSandbox:
    return make_sandbox()


@pytest.fixture
def api(sandbox: RunningSandbox):
    """``api(Orders, "acme-us")``: a real client of that seller, talking to ``sandbox``."""
    return client_factory(sandbox)


def client_factory(sandbox: RunningSandbox):
    class SandboxAuth(AccessTokenClient):
        scheme, host = "http://", f"127.0.0.1:{sandbox.port}"

    def make(cls=Orders, seller: str = "acme-us", marketplace: Marketplaces = Marketplaces.US, **options):
        client = cls(
            credentials=credentials(seller),
            marketplace=marketplace,
            auth_token_client_class=SandboxAuth,
            **options,
        )
        client.endpoint = sandbox.url
        return client

    return make


@pytest.fixture
def admin(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client
