"""Helpers shared by the test suites (import as ``tests.support``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def settings_env(settings, **overrides: str) -> dict[str, str]:
    """The environment that makes a subprocess read the same ``settings`` (plus ``overrides``)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "MONGODB_", "SP_API_", "JOB_"))}
    return {**env, **settings.to_env(), **overrides}
