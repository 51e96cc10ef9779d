"""Child processes that die with the process that started them, and the one way to stop a child.

A server or process started with :func:`start_tied` gets a parent-death signal from the kernel
(Linux ``prctl(PR_SET_PDEATHSIG)``): when the process that started it dies, even by SIGKILL, it gets
``death_signal``. Without it a ``make dev`` killed with SIGKILL left its redis-server and document
server running (each runs in a session of its own, out of reach of the terminal's signals).

The kernel sends that signal when the *thread* that forked the child exits, not the process; so every
child is forked from one thread that lives as long as the process does (``spawner``), whichever
thread asks. A child whose starter died between the fork and the ``prctl`` sees a new parent and
exits at once. Elsewhere than Linux nothing ties the child: its owner's ``stop()`` still ends it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: prctl option: signal the calling process when its parent thread dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
#: The one thread every tied child is forked from: it lives as long as the process.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")


def start_tied(args: Any, *, death_signal: int = signal.SIGKILL, **popen: Any) -> subprocess.Popen:
    """``subprocess.Popen(args, **popen)`` whose child gets ``death_signal`` when this process dies."""
    tie = functools.partial(_die_with, os.getpid(), int(death_signal))
    return _SPAWNER.submit(subprocess.Popen, args, preexec_fn=tie, **popen).result()


def _die_with(parent: int, death_signal: int) -> None:
    """In the child, before exec: ask for ``death_signal`` when the parent dies (kept across exec)."""
    if _LIBC is None:
        return
    _LIBC.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
    if os.getppid() != parent:  # the starter died before the prctl: nothing would signal us
        os._exit(1)


def stop_process(process: subprocess.Popen, timeout: float = 10.0, *, group: bool = False) -> int:
    """SIGTERM ``process`` (``group``: its whole process group), wait up to ``timeout`` seconds, then
    SIGKILL it; returns its exit status. A process already gone is only reaped."""
    if process.poll() is None:
        send_signal(process, signal.SIGTERM, group=group)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return process.wait(timeout=timeout)
    kill(process, group=group)
    return process.wait()


def kill(process: subprocess.Popen, *, group: bool = False) -> None:
    """SIGKILL ``process`` (``group``: its process group, so that nothing it started outlives it)."""
    send_signal(process, signal.SIGKILL, group=group)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def send_signal(process: subprocess.Popen, signum: int, *, group: bool = False) -> bool:
    """Send ``signum`` to ``process`` or its group; False when it was gone already."""
    try:
        if group:
            os.killpg(process.pid, signum)
        elif process.poll() is None:
            process.send_signal(signum)
        else:
            return False
    except (ProcessLookupError, PermissionError):
        return False
    return True
