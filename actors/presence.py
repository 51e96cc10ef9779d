"""Announces this worker process in services.jobs.presence while it runs, for the queue statistics."""

from __future__ import annotations

import logging
import threading

from dramatiq import Middleware

from services.jobs.presence import ANNOUNCE_EVERY, Presence, new_worker_id

logger = logging.getLogger(__name__)


class WorkerPresence(Middleware):
    def __init__(self, presence: Presence) -> None:
        self.presence = presence
        self.worker_id = new_worker_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker, worker) -> None:
        presence = self.presence
        self._stop.clear()

        def announce() -> None:
            while True:
                try:
                    presence.announce(self.worker_id)
                except Exception:  # Redis away for a moment: the next announcement will do
                    logger.warning("Could not announce worker %s.", self.worker_id, exc_info=True)
                if self._stop.wait(ANNOUNCE_EVERY):
                    return

        self._thread = threading.Thread(target=announce, name="worker-presence", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.presence.leave(self.worker_id)
        except Exception:
            logger.warning("Could not withdraw worker %s.", self.worker_id, exc_info=True)
