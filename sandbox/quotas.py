"""Amazon's usage plans: a token bucket per (refresh token, operation)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UsagePlan:
    #: Requests per second, as Amazon prints it in ``x-amzn-RateLimit-Limit``.
    rate_header: str
    #: Maximum requests served back to back from a full bucket.
    burst: int

    @property
    def rate(self) -> float:
        return float(self.rate_header)


#: Operation name -> Amazon's default usage plan (Amazon's documented usage plans).
USAGE_PLANS: dict[str, UsagePlan] = {
    "getOrders": UsagePlan("0.0167", 20),
    "getOrderItems": UsagePlan("0.5", 30),
    "getOrderMetrics": UsagePlan("0.5", 15),
    "getInventorySummaries": UsagePlan("2.0", 2),
}


class TokenBucket:
    """Starts full; refills ``rate * time_scale`` tokens per clock second up to ``burst``."""

    def __init__(self, plan: UsagePlan, now: datetime):
        self.plan = plan
        self.tokens = float(plan.burst)
        self.updated = now

    def take(self, now: datetime, time_scale: float) -> bool:
        elapsed = max(0.0, (now - self.updated).total_seconds())
        self.tokens = min(float(self.plan.burst), self.tokens + elapsed * self.plan.rate * time_scale)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Quotas:
    """Thread-safe registry of buckets, created full on first use."""

    def __init__(self, time_scale: float = 1.0):
        self.time_scale = time_scale
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, refresh_token: str, operation: str, now: datetime) -> bool:
        """Spend one token of that caller's bucket; False means answer 429."""
        with self._lock:
            bucket = self._buckets.get((refresh_token, operation))
            if bucket is None:
                bucket = self._buckets[(refresh_token, operation)] = TokenBucket(USAGE_PLANS[operation], now)
            return bucket.take(now, self.time_scale)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
