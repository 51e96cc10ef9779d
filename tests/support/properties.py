"""The hypothesis settings of our property tests: every run, on every machine, tries the same inputs."""

from __future__ import annotations

import hypothesis
from hypothesis import HealthCheck


def derandomized(max_examples: int) -> hypothesis.settings:
    """At most ``max_examples`` cases, drawn from a seed derived from the test itself, with no example
    database and no deadline; a function-scoped fixture shared by the examples is intended."""
    return hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
