"""Serve the API and dashboard from a background thread (dev mode, browser tests).

Dev mode runs API, workers and scheduler in one process because the in-memory store lives in one
process; the server itself is services.background_server's.
"""

from services.background_server import BackgroundServer as DevServer
from services.background_server import serve_in_thread

__all__ = ["DevServer", "serve_in_thread"]
