"""The one starter of the servers that dev mode, the tests and the benchmarks run on.

    stack = start_stack(redis_url=None, mongodb_uri=None, sandbox=start_my_sandbox)
    ...                    # stack.redis_url, stack.mongodb_uri, stack.sandbox, stack.env
    stack.stop()           # the servers it started, newest first

Each server is started unless its URL is given: an embedded redis-server, the embedded document
server (SecantusDB), and the SP-API sandbox when a ``sandbox`` starter is given (``embedded`` imports
nothing of ours, so the caller hands in how to start it). The server processes die with the process
that started them, even when it is SIGKILLed (:mod:`embedded.lifeline`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded.document_server import EmbeddedDocumentServer, start_document_server
from embedded.redis_server import EmbeddedRedis, start_embedded_redis
from embedded.stoppable import Stoppable

logger = logging.getLogger(__name__)


@dataclass
class Stack(Stoppable):
    """The servers in use: those started here (``redis``, ``documents``, ``sandbox``) and those given."""

    redis_url: str
    mongodb_uri: str
    redis: EmbeddedRedis | None = None
    documents: EmbeddedDocumentServer | None = None
    #: The running sandbox (``url``, ``state``, ``stop()``), or None.
    sandbox: Any = None
    #: Environment values that point a process at these servers; callers add their own settings.
    env: dict[str, str] = field(default_factory=dict)
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def pids(self) -> dict[str, int]:
        """Process ids of the server processes started here ("redis", "documents")."""
        servers = {"redis": self.redis, "documents": self.documents}
        return {name: server.process.pid for name, server in servers.items() if server is not None}

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the stack stops, before any server it started (while they still answer)."""
        self._stops.append(callback)

    def stop(self) -> None:
        """Stop the servers started here, newest first; one that fails to stop does not keep the others.
        What ``on_stop`` added runs first."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:  # a server already gone must not hide what its owner was doing
                logger.warning("Could not stop a server of the stack.", exc_info=True)


def start_stack(
    *,
    redis_url: str | None = None,
    mongodb_uri: str | None = None,
    database: str = "sellersync",
    sandbox: Callable[[], Any] | None = None,
    storage_path: str | Path | None = None,
) -> Stack:
    """Start the servers whose URL is not given, and the sandbox when ``sandbox`` says how; on a failure
    stop what had started and raise (RuntimeError with one line when a server cannot be had).

    ``storage_path`` keeps the servers' data in that folder (``redis/``, ``documents/``) across their
    restarts; without it, Redis is throwaway and the documents live in memory.
    """
    stack = Stack(redis_url=redis_url or "", mongodb_uri=mongodb_uri or "")
    try:
        if not redis_url:
            stack.redis = start_embedded_redis(storage_path=_folder(storage_path, "redis"))
            stack._stops.append(stack.redis.stop)
            stack.redis_url = stack.redis.url
        if not mongodb_uri:
            documents = start_document_server(
                database=database, storage_path=_folder(storage_path, "documents")
            )
            stack.documents = documents
            stack._stops.append(documents.stop)
            stack.mongodb_uri = documents.uri
        if sandbox is not None:
            stack.sandbox = sandbox()
            stack._stops.append(stack.sandbox.stop)
    except BaseException:
        stack.stop()
        raise
    stack.env = _environment(stack)
    return stack


def _folder(storage_path: str | Path | None, name: str) -> str | None:
    if storage_path is None:
        return None
    folder = Path(storage_path) / name
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def _environment(stack: Stack) -> dict[str, str]:
    env = {"REDIS_URL": stack.redis_url, "MONGODB_URI": stack.mongodb_uri}
    if stack.sandbox is not None:
        env.update(SP_API_ENDPOINT=stack.sandbox.url, SP_API_LWA_ENDPOINT=stack.sandbox.url)
    return env
