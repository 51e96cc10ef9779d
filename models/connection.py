"""The MongoDB connection: MONGODB_URI, or an in-memory mongomock store when it is unset.

The in-memory store lives in one process only (dev mode runs its workers as threads for that reason).
"""

from __future__ import annotations

import threading

import mongoengine

from services.settings import Settings, get_settings

_lock = threading.Lock()
_connected_to: str | None = None

IN_MEMORY = "in-memory (mongomock)"


def connect(settings: Settings | None = None) -> str:
    """Connect the default alias once per process; returns a description of the store."""
    global _connected_to
    settings = settings or get_settings()
    with _lock:
        if _connected_to is None:
            if settings.mongodb_uri:
                mongoengine.connect(host=settings.mongodb_uri, tz_aware=True, uuidRepresentation="standard")
                _connected_to = "mongodb"
            else:
                import mongomock

                mongoengine.connect(
                    db="sellersync",
                    host="mongodb://localhost",
                    mongo_client_class=mongomock.MongoClient,
                    tz_aware=True,
                    uuidRepresentation="standard",
                )
                _connected_to = IN_MEMORY
            from models.migrate import create_indexes

            create_indexes()
        return _connected_to


def is_in_memory() -> bool:
    return _connected_to == IN_MEMORY


def disconnect() -> None:
    global _connected_to
    with _lock:
        mongoengine.disconnect()
        _connected_to = None
