"""Serve the sandbox over HTTP from a background thread (tests, ``make dev``).

The threaded ``wsgiref`` server of embedded.wsgi, plus what a ``reset`` fault needs:
the connection's socket in the WSGI environ, so that the answer can be a TCP reset.
"""

from __future__ import annotations

import socket
import struct
import threading

from embedded import wsgi as wsgi_server
from embedded.wsgi import BackgroundServer, QuietHandler, ThreadedWSGIServer
from sandbox.app import SandboxApp, create_app
from sandbox.config import SandboxConfig
from sandbox.pipeline import DROP_CONNECTION
from sandbox.state import SandboxState

#: WSGI environ key holding the connection's socket, so a ``reset`` fault can drop it.
SOCKET_KEY = "sandbox.socket"


class _Handler(QuietHandler):
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


class RunningSandbox(BackgroundServer):
    """A sandbox serving in a background thread; ``stop()`` (or leaving ``with``) ends it."""

    def __init__(self, server: ThreadedWSGIServer, thread: threading.Thread, app: SandboxApp):
        super().__init__(server, thread)
        self.app = app
        self.state: SandboxState = app.state


def make_server(host: str, port: int, app: SandboxApp) -> ThreadedWSGIServer:
    return wsgi_server.make_server(droppable(app), host, port, _Handler)


def start_sandbox(
    host: str = "127.0.0.1", port: int = 0, config: SandboxConfig | None = None
) -> RunningSandbox:
    """Serve a fresh sandbox on ``host:port`` (0 = any free port) and return at once."""
    app = create_app(config)
    server = make_server(host, port, app)
    thread = wsgi_server.start_thread(server, "sandbox-server", poll_interval=0.05)
    return RunningSandbox(server, thread, app)
