"""Serve a WSGI app from a background thread: dev mode runs API, workers and scheduler in one process.

(The in-memory store lives in one process, so dev mode cannot hand the API to gunicorn.) Standard
library only: ``wsgiref`` made threaded, one daemon thread per connection.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

logger = logging.getLogger(__name__)


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        logger.debug("%s %s", self.address_string(), format % args)


class DevServer:
    """A server running in a daemon thread; ``url`` says where, ``stop()`` ends it."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host, self.port = server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 8000) -> DevServer:
    """Start serving ``app`` on ``host:port`` (port 0: a free one) and return at once."""
    server = _Server((host, port), _Handler)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, name=f"web-{port}", daemon=True)
    thread.start()
    logger.info("Serving the API and dashboard on http://%s:%d.", *server.server_address[:2])
    return DevServer(server, thread)
