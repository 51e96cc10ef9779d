"""An embedded MongoDB-wire server for dev mode, the tests and the benchmarks, when no MONGODB_URI is given.

The server is SecantusDB (PyPI ``secantusdb``, in the ``dev`` and ``test`` extras only): a MongoDB
wire-protocol server on WiredTiger. It is GPL-2.0-only, so sellersync never imports it: it runs as a
separate process through its console script, ``secantusd-py``, and we speak to it with pymongo as to
any MongoDB. Every process of the topology (web, workers, scheduler) shares it over TCP.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import pymongo.errors

from embedded.lifeline import kill, start_tied, stop_process
from embedded.ports import free_port
from embedded.stoppable import Stoppable

#: The console script that serves SecantusDB.
SERVER_SCRIPT = "secantusd-py"

HOW_TO_GET_ONE = (
    f"no {SERVER_SCRIPT} found: install the dev extra (pip install -e '.[dev]', which brings secantusdb), "
    "or set MONGODB_URI to a MongoDB server"
)


def document_server_uri(host: str, port: int, database: str) -> str:
    """The URI of the embedded server's ``database``, as every process of the topology should use it.

    ``retryWrites=false``: SecantusDB keeps the reply of every retryable write for 30 minutes, and on
    each write scans them all, then sorts them all once it holds 10,000. Measured on one server,
    16,000 updates in a row: 0.9 ms a write at first, 12 ms a write past the 10,000th, against a flat
    0.7 ms without retryable writes. A full-size run (1,000 jobs, or an hour of freshness) passes
    that mark and slows every job on it. A single embedded server has no failover for a retry to
    ride out, and a write that fails is retried by its job (Retries), as on MongoDB. Production's
    MONGODB_URI is the operator's, with MongoDB's defaults.
    """
    return f"mongodb://{host}:{port}/{database}?directConnection=true&retryWrites=false"


def server_script() -> str:
    """Path of ``secantusd-py``: beside this interpreter (no virtualenv need be active), else on PATH."""
    beside = Path(sys.executable).parent / SERVER_SCRIPT
    if beside.exists():
        return str(beside)
    found = shutil.which(SERVER_SCRIPT)
    if not found:
        raise RuntimeError(HOW_TO_GET_ONE)
    return found


@dataclass
class EmbeddedDocumentServer(Stoppable):
    """A running SecantusDB process; ``uri`` names a database in it, ``stop()`` ends it."""

    uri: str
    port: int
    process: subprocess.Popen
    storage: str
    _log: object = field(default=None, repr=False)
    database: str = "sellersync"

    def stop(self, timeout: float = 10.0) -> None:
        stop_process(self.process, timeout=timeout)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]

    def kill(self) -> None:
        """SIGKILL, as a crash would (the reliability tests restart it on the same storage)."""
        kill(self.process)

    def restart(self, timeout: float = 30.0) -> None:
        """Start it again, stopped, on the same port and storage (in memory: empty again)."""
        storage = None if self.storage == ":memory:" else self.storage
        again = start_document_server(
            database=self.database, port=self.port, storage_path=storage, timeout=timeout
        )
        self.process, self._log = again.process, again._log


def start_document_server(
    *,
    database: str = "sellersync",
    port: int | None = None,
    storage_path: str | None = None,
    timeout: float = 30.0,
) -> EmbeddedDocumentServer:
    """Start SecantusDB on 127.0.0.1 (a free port unless given) and wait until it answers ``ping``.

    ``storage_path`` None keeps the data in memory (gone when the server stops); a folder keeps it
    across restarts. Raises RuntimeError with one line when the server cannot be had or started.
    """
    port = port or free_port()
    storage = storage_path or ":memory:"
    log = tempfile.TemporaryFile(prefix="sellersync-documents-")  # noqa: SIM115 - closed by stop()
    process = start_tied(
        [server_script(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage,
         "--log-level", "WARNING"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C reaches the processes that use the server, which its owner stops last
        # (and which dies with its owner: embedded.lifeline).
        start_new_session=True,
    )  # fmt: skip
    server = EmbeddedDocumentServer(
        uri=document_server_uri("127.0.0.1", port, database),
        port=port,
        process=process,
        storage=storage,
        _log=log,
        database=database,
    )
    _wait_until_it_answers(server, timeout)
    return server


def _wait_until_it_answers(server: EmbeddedDocumentServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client: pymongo.MongoClient = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=250)
    try:
        while True:
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if server.process.poll() is not None or time.monotonic() > deadline:
                    output = _tail(server)
                    server.stop()
                    raise RuntimeError(
                        f"{SERVER_SCRIPT} did not start on port {server.port}: {output or 'no output'}"
                    ) from None
                time.sleep(0.05)
    finally:
        client.close()


def _tail(server: EmbeddedDocumentServer) -> str:
    log = server._log
    if log is None:
        return ""
    log.seek(0)  # type: ignore[attr-defined]
    lines = log.read().decode(errors="replace").strip().splitlines()  # type: ignore[attr-defined]
    return lines[-1] if lines else ""
