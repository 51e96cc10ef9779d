"""All in-memory state of one sandbox, shared by its resources and reachable from Python
(``RunningSandbox.state``) for tests that set faults or read stats without HTTP."""

from __future__ import annotations

from datetime import datetime

from sandbox.config import SandboxConfig
from sandbox.cursors import Cursors
from sandbox.faults import FaultBook, parse_faults
from sandbox.quotas import Quotas
from sandbox.stats import Stats
from sandbox.store import SellerStore
from sandbox.tokens import AccessTokens


class SandboxState:
    """Each part guards itself with its own lock, so a slow part (generating a large seller)
    never blocks the counters."""

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self.tokens = AccessTokens()
        self.quotas = Quotas(self.config.time_scale)
        self.faults = FaultBook()
        self.stats = Stats()
        self.sellers = SellerStore()
        self.cursors = Cursors()

    def now(self) -> datetime:
        return self.config.clock()

    def set_faults(self, seller: str, faults: list[dict]) -> None:
        """Replace the seller's faults (JSON shapes of ``sandbox.faults``); raises FaultError."""
        self.faults.set(seller, parse_faults(faults, seller))

    def get_faults(self, seller: str) -> list[dict]:
        return self.faults.get(seller)

    def set_profile(self, seller: str, profile: dict) -> dict:
        return self.sellers.set_profile(seller, profile).to_json()

    def set_data(self, seller: str, data: dict) -> None:
        self.sellers.set_data(seller, data)

    def get_stats(self) -> dict:
        return self.stats.snapshot()

    def reset(self) -> None:
        """Forget stats, faults, buckets, tokens (access and next), profiles and custom data."""
        for part in (self.tokens, self.quotas, self.faults, self.stats, self.sellers, self.cursors):
            part.reset()
