"""Fixtures of the reliability scenarios: the real topology under a Supervisor, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.support import start_topology


@pytest.fixture
def topology(settings, broker, tmp_path) -> Iterator[object]:
    """``topology(**env)`` starts a Supervisor, its output in ``tmp_path/topology.log``; stopped after."""
    started = []

    def start(**env: str):
        supervisor = start_topology(settings, tmp_path / "topology.log", **env)
        started.append(supervisor)
        return supervisor

    start.log_path = tmp_path / "topology.log"  # type: ignore[attr-defined]
    yield start
    for supervisor in reversed(started):
        supervisor.stop(timeout=10)
