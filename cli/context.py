"""What a subcommand runs with: the settings, the streams, and the store and producer on first use."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO, Any

from services.platform.settings import Settings


@dataclass
class Context:
    settings: Settings
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    json: bool = False
    _producer: Any = None

    def store(self) -> None:
        """Connect to MONGODB_URI (SettingsError when unset: the command never uses a local store)."""
        from services.platform.store import connect_store

        connect_store(self.settings)

    def producer(self):
        """The job producer on the Dramatiq queue (importing ``actors`` builds the broker; nothing runs)."""
        if self._producer is None:
            self.store()
            import actors

            self._producer = actors.producer(self.settings)
        return self._producer

    def queries(self):
        from services.jobs.queries import JobQueries

        self.store()
        return JobQueries(self.settings)

    def redis(self):
        from services.platform.redis_pool import get_redis

        return get_redis(self.settings)
