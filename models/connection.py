"""The MongoDB connection of a process, to the URI its caller gives.

``models`` imports nothing else of sellersync: the entry points read MONGODB_URI from the settings
and pass it here (``services.platform.store.connect_store``). There is no fallback: without a URI there is no
store. Indexes are the release step's business (``models.migrate``), not every connection's.
"""

from __future__ import annotations

import threading
from typing import Any

import mongoengine

_lock = threading.Lock()
_connected_to: str | None = None


def connect(uri: str, **client_options: Any) -> None:
    """Connect the default MongoEngine alias to ``uri`` once per process.

    Calling it again with the same URI does nothing; with another URI it raises, since documents of
    one process never straddle two stores. ``client_options`` go to pymongo's MongoClient (the tests
    pass ``event_listeners`` to see the commands that the code sends).
    """
    global _connected_to
    if not uri:
        raise ValueError("a MongoDB URI is required")
    with _lock:
        if _connected_to == uri:
            return
        if _connected_to is not None:
            raise RuntimeError("this process is already connected to another MongoDB")
        # tz_aware: every datetime we read back is UTC-aware, as every datetime we write is.
        mongoengine.connect(host=uri, tz_aware=True, uuidRepresentation="standard", **client_options)
        _connected_to = uri


def disconnect() -> None:
    global _connected_to
    with _lock:
        mongoengine.disconnect()
        _connected_to = None
