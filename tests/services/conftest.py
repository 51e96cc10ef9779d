"""Fixtures of the SP-API integration tests: a store fit for thousands of orders, a movable clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from models import Order


@pytest.fixture
def large_store():
    """mongomock checks a unique index by scanning the whole collection on every write, which makes
    storing thousands of orders quadratic (minutes for 5,000); MongoDB uses the index. For the tests
    with thousands of orders the in-memory store goes without it (the tests check uniqueness
    themselves), and gets it back afterwards."""
    from models.connection import is_in_memory

    collection = Order._get_collection()
    unique = {n: spec for n, spec in collection.index_information().items() if spec.get("unique")}
    if is_in_memory():
        for name in unique:
            collection.drop_index(name)
    yield
    if is_in_memory():
        for name, spec in unique.items():
            collection.create_index(spec["key"], unique=True, name=name)


@pytest.fixture
def sandbox_clock(sandbox):
    """The sandbox's clock (and ours, passed to process_user_data): real time plus a movable offset."""

    class Clock:
        def __init__(self) -> None:
            self.base, self.started, self.offset = datetime.now(UTC), time.monotonic(), timedelta(0)

        def __call__(self) -> datetime:
            return self.base + self.offset + timedelta(seconds=time.monotonic() - self.started)

    clock, original = Clock(), sandbox.state.config.clock
    sandbox.state.config.clock = clock
    yield clock
    sandbox.state.config.clock = original
