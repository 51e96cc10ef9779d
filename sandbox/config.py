"""Configuration of one sandbox instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SandboxConfig:
    """What a sandbox needs from the outside world.

    ``clock`` is the sandbox's "now" (an aware UTC datetime): synthetic orders appear and change
    status as it advances, and getOrders' "2 minutes before now" rule uses it.

    ``time_scale`` speeds up *durations* measured between requests on that clock: quota refill
    (a bucket refills ``rate * time_scale`` tokens per clock second) and the 30 s lifetime of an
    inventory nextToken. It does not move the clock itself, so data stays what the clock says.
    """

    #: Multiplier of quota refill speed and nextToken ageing (1 = Amazon's speed).
    time_scale: float = 1.0
    #: The only LWA client id (app id) the token endpoint accepts.
    lwa_app_id: str = "sandbox-app"
    #: The only LWA client secret the token endpoint accepts.
    lwa_client_secret: str = "sandbox-secret"  # noqa: S105 - a public, documented sandbox value
    #: Returns the current time as an aware UTC datetime; tests inject a controllable one.
    clock: Callable[[], datetime] = field(default=utc_now)

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale!r}")
