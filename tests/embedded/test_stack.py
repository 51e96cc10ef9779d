"""The stack starter's servers die with whatever started them, even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from embedded.redis_server import start_embedded_redis
from tests.support import start_child, wait_for

ROOT = Path(__file__).resolve().parents[2]

#: A starter that prints its servers' pids and then waits to be killed.
STARTER = """
import time
from embedded.stack import start_stack
stack = start_stack()
print(stack.pids["redis"], stack.pids["documents"], flush=True)
time.sleep(120)
"""


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_servers_of_a_starter_killed_with_sigkill_are_gone_within_seconds():
    # Given a process that started an embedded redis-server and document server
    starter = start_child(
        [sys.executable, "-c", STARTER], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        pids = [int(pid) for pid in starter.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)

        # When it is SIGKILLed, with no chance to stop them
        os.kill(starter.pid, signal.SIGKILL)
        starter.wait(timeout=10)

        # Then its servers are gone too
        wait_for(lambda: all(gone(pid) for pid in pids), timeout=10)
    finally:
        if starter.poll() is None:
            starter.kill()
        starter.stdout.close()  # type: ignore[union-attr]


def test_a_server_started_from_a_thread_outlives_that_thread():
    # Given a redis-server started from a thread that then ends (the kernel ties the parent-death
    # signal to the forking thread: the servers are forked from one long-lived thread instead)
    started = []
    thread = threading.Thread(target=lambda: started.append(start_embedded_redis()))
    thread.start()
    thread.join()
    server = started[0]
    try:
        # Then the server still runs and answers
        import redis

        client = redis.Redis.from_url(server.url)
        assert client.ping()
        client.close()
        assert server.process.poll() is None
    finally:
        server.stop()
