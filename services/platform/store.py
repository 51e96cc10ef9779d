"""The document store of a process: MONGODB_URI from the settings, handed to ``models.connection``."""

from __future__ import annotations

from models.connection import connect
from services.platform.errors import SettingsError
from services.platform.settings import Settings


def connect_store(settings: Settings) -> None:
    """Connect this process to MONGODB_URI (once); SettingsError when it is not set: no fallback."""
    if not settings.mongodb_uri:
        raise SettingsError("MONGODB_URI: required (the MongoDB server of the documents, mongodb://…)")
    connect(settings.mongodb_uri)
