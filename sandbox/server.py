"""Serve the sandbox over HTTP from a background thread (tests, ``make dev``).

Standard library only: ``wsgiref`` made threaded with ``socketserver.ThreadingMixIn``, one
daemon thread per connection, no request logging.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from sandbox.app import SandboxApp, create_app
from sandbox.config import SandboxConfig
from sandbox.pipeline import DROP_CONNECTION
from sandbox.state import SandboxState

#: WSGI environ key holding the connection's socket, so a ``reset`` fault can drop it.
SOCKET_KEY = "sandbox.socket"


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
        pass

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ[SOCKET_KEY] = self.connection
        return environ


def _drop(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST and the client sees "connection reset"."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # detach() first: the handler's file objects keep the socket object alive, and close() alone
    # would wait for them; the detached object can no longer touch the (reusable) fd number.
    socket.close(sock.detach())


def droppable(app):
    """WSGI wrapper: when the app marked the request for dropping, drop instead of answering."""

    def wsgi(environ, start_response):
        result = app(environ, start_response)
        sock = environ.get(SOCKET_KEY)
        if environ.get(DROP_CONNECTION) and sock is not None:
            _drop(sock)
            # wsgiref's handler treats this as the client going away: no write, no log.
            raise ConnectionAbortedError("dropped by a reset fault")
        return result

    return wsgi


class RunningSandbox:
    """A sandbox serving in a background thread; ``stop()`` (or leaving ``with``) ends it."""

    def __init__(self, server: _Server, thread: threading.Thread, app: SandboxApp):
        self._server = server
        self._thread = thread
        self.app = app
        self.state: SandboxState = app.state
        self.host, self.port = server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.url}>"


def make_server(host: str, port: int, app: SandboxApp) -> _Server:
    server = _Server((host, port), _Handler)
    server.set_app(droppable(app))
    return server


def start_sandbox(
    host: str = "127.0.0.1", port: int = 0, config: SandboxConfig | None = None
) -> RunningSandbox:
    """Serve a fresh sandbox on ``host:port`` (0 = any free port) and return at once."""
    app = create_app(config)
    server = make_server(host, port, app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-server", daemon=True
    )
    thread.start()
    return RunningSandbox(server, thread, app)
