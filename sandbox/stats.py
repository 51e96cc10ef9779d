"""Per seller and operation counters served by ``GET /_sandbox/stats``."""

from __future__ import annotations

import threading
from collections import defaultdict

SERVED, THROTTLED, FAILED = "served", "throttled", "failed"


class Stats:
    """Counts every answered request of a known seller.

    ``served``: a genuine 2xx answer. ``throttled``: a 429 (real quota or injected).
    ``failed``: anything else, including injected faults (a malformed 200 and a dropped connection
    count as failed) and 4xx answers to bad requests. Requests whose seller is unknown (an access
    token never issued, a refresh token not of the sandbox form) are not counted.
    """

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: {SERVED: 0, THROTTLED: 0, FAILED: 0})
        )
        self._lock = threading.Lock()

    def count(self, seller: str, operation: str, outcome: str) -> None:
        with self._lock:
            self._counts[seller][operation][outcome] += 1

    def snapshot(self) -> dict[str, dict[str, dict[str, int]]]:
        with self._lock:
            return {s: {op: dict(c) for op, c in ops.items()} for s, ops in self._counts.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
