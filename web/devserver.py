"""Serve the API and dashboard from a background thread (dev mode, browser tests).

Dev mode runs API, workers and scheduler in one process because the in-memory store lives in one
process; the server itself is embedded.wsgi's.
"""

from embedded.wsgi import BackgroundServer as DevServer
from embedded.wsgi import serve_in_thread

__all__ = ["DevServer", "serve_in_thread"]
