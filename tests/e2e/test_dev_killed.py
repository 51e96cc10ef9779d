"""``make dev`` killed with SIGKILL leaves nothing running: its embedded servers die with it (the
parent-death signal of embedded.lifeline), and its processes are told to stop as on a deploy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from embedded.ports import free_port
from tests.embedded.test_stack import gone
from tests.support import start_child, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"),
]

#: What dev mode's processes inherit of this one's environment; the rest (REDIS_URL, MONGODB_URI…)
#: stays out, so that it starts its own servers.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children of any of its threads, theirs, and so on)."""
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            frontier += children
    return found


@pytest.mark.timeout(240)
def test_dev_mode_killed_with_sigkill_leaves_no_server_or_process_running(tmp_path):
    # Given `python -m devmode` on its own servers, running after its demo sync
    env = {k: v for k, v in os.environ.items() if k in INHERITED}
    env.update(DEMO_USERS="1", PORT=str(free_port()), PYTHONUNBUFFERED="1")
    dev = start_child(
        [sys.executable, "-m", "devmode"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output = []
        for line in dev.stdout:  # type: ignore[union-attr]
            output.append(line)
            if "Running until Ctrl-C." in line or dev.poll() is not None:
                break
        assert "Running until Ctrl-C." in output[-1], "".join(output)
        running = descendants(dev.pid)
        names = {Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in running}
        assert any("redis-server" in n for n in names) and any("secantusd-py" in n for n in names), names

        # When it is SIGKILLed, with no chance to stop anything
        os.kill(dev.pid, signal.SIGKILL)
        dev.wait(timeout=10)

        # Then every server and process it started is gone within seconds
        wait_for(lambda: all(gone(pid) for pid in running), timeout=30, interval=0.2)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
        dev.stdout.close()  # type: ignore[union-attr]
