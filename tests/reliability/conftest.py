"""Fixtures of the reliability scenarios: the real topology under a Supervisor, stopped after the test."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.reliability.support import REPORT_PATH, start_topology


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``make reliability``, a failed scenario is listed in RELIABILITY.md too."""
    outcome = yield
    result = outcome.get_result()
    if REPORT_PATH and result.failed:
        with open(REPORT_PATH, "a") as out:
            out.write(json.dumps({"failed": item.name}) + "\n")


@pytest.fixture
def topology(settings, broker, tmp_path) -> Iterator[object]:
    """``topology(**env)`` starts a Supervisor, its output in ``tmp_path/topology.log``; stopped after."""
    started = []

    def start(**env: str):
        supervisor = start_topology(settings, tmp_path / "topology.log", **env)
        started.append(supervisor)
        return supervisor

    def stop_all() -> None:
        while started:
            started.pop().stop(timeout=10)

    start.log_path = tmp_path / "topology.log"  # type: ignore[attr-defined]
    start.stop_all = stop_all  # type: ignore[attr-defined]
    yield start
    stop_all()
