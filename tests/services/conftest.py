"""Fixtures of the SP-API integration tests: a movable clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest


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
