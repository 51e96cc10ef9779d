"""Serve a WSGI app from a background thread: the sandbox (tests, dev mode) and dev mode's API.

Standard library only: ``wsgiref`` made threaded, one daemon thread per connection. Dev mode cannot
hand the API to gunicorn because its in-memory store lives in one process.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from embedded.stoppable import Stoppable

logger = logging.getLogger(__name__)


class ThreadedWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not to stderr."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        logger.debug("%s %s", self.address_string(), format % args)


class BackgroundServer(Stoppable):
    """A server running in a daemon thread; ``url`` says where, ``stop()`` ends it."""

    def __init__(self, server: ThreadedWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host, self.port = server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


def make_server(
    app, host: str, port: int, handler: type[WSGIRequestHandler] = QuietHandler
) -> ThreadedWSGIServer:
    server = ThreadedWSGIServer((host, port), handler)
    server.set_app(app)
    return server


def start_thread(server: ThreadedWSGIServer, name: str, poll_interval: float = 0.5) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
    )
    thread.start()
    return thread


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 8000) -> BackgroundServer:
    """Start serving ``app`` on ``host:port`` (port 0: a free one) and return at once."""
    server = make_server(app, host, port)
    thread = start_thread(server, f"wsgi-{port}")
    logger.info("Serving on http://%s:%d.", *server.server_address[:2])
    return BackgroundServer(server, thread)
