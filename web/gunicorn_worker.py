"""gunicorn's threaded worker, with a deadline on reading each request (issue 19: slow clients).

gunicorn has no header timeout: a client that sends its request a byte at a time holds one of the
``WEB_CONCURRENCY × WEB_THREADS`` threads for as long as it likes, and a handful of such clients stop
the API. With this worker (the Procfile's, through web.gunicorn_config) each request has
:data:`REQUEST_READ_SECONDS` to arrive, head and body (a body is at most 64 KiB, web.security): every
read waits only for what is left of that time, and a client that runs out is treated as one that
went away (gunicorn closes the connection with a debug line, no traceback). A proxy in front (the
README's production section) still does the same at the edge; this bounds the worker itself.

Only reads are bounded, and only on plain sockets: TLS ends at the platform's router or proxy.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker

#: Seconds a client has to send one whole request (head and body), counted from when the connection is
#: handed to the thread pool; legitimate clients need milliseconds (gunicorn itself gives a new
#: connection as long to send its first byte).
REQUEST_READ_SECONDS = 5.0


class _ReadDeadline:
    """A socket whose ``recv`` gives up at ``deadline`` (``time.monotonic()``); the rest passes through."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self.deadline = 0.0

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def recv(self, size: int, flags: int = 0) -> bytes:
        # Past the deadline a read still takes what has arrived (timeout 0): a request that waited
        # in a busy worker's queue is served; only one still not sent is cut off.
        self._sock.settimeout(max(0.0, self.deadline - time.monotonic()))
        try:
            return self._sock.recv(size, flags)
        except (TimeoutError, BlockingIOError):
            return b""  # gunicorn reads this as the client having gone away
        finally:
            self._sock.settimeout(None)  # blocking again, as gunicorn's other reads and writes expect


class DeadlineThreadWorker(ThreadWorker):
    """``gthread`` with :data:`REQUEST_READ_SECONDS` for every request on a connection.

    The time counts from when the connection is handed to the thread pool (on accept, or when a kept-
    alive connection has its next request), not from when a thread takes it up: slow clients queued
    behind each other all run out together, instead of one thread-full after another.
    """

    def enqueue_req(self, conn) -> None:
        if not self.cfg.is_ssl:
            if not isinstance(conn.sock, _ReadDeadline):
                conn.sock = _ReadDeadline(conn.sock)
            conn.sock.deadline = time.monotonic() + REQUEST_READ_SECONDS
        super().enqueue_req(conn)
