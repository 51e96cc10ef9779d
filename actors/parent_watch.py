"""A ``dramatiq`` worker process whose main process dies stops within seconds, so nothing is stranded.

The ``dramatiq`` CLI forks its worker processes from a main process that relays their logs and
stops them. When the main process is killed (an operator's ``kill -9``, an OOM kill), its workers
live on as orphans: their consumers keep heartbeating, so the broker never redelivers the messages
they hold, yet they stop making progress, because every worker logs through a pipe that only the
dead main read. Forked siblings (and the worker itself) hold the pipe's read end, so a write never
fails: once the pipe's 64 KiB buffer is full, the next log line blocks its thread for ever, with
the logging lock held, and every other thread follows at its next log line.

:class:`ParentDeathWatch` runs in each worker process the CLI starts (never in a worker embedded in
another program) and, when the main process dies:

1. drains the log pipe itself (a reader thread on the pipe, through ``/proc/self/fd``) and writes
   the lines to the process's own stderr, which the main process shared with it: no thread blocks
   on a log line, and the lines still reach the supervisor's output;
2. stops the worker the way the main process would have, with SIGTERM: running jobs are interrupted
   (ShutdownNotifications) and retried later, prefetched messages are requeued;
3. exits hard after :data:`GRACE_SECONDS`, whatever is still running, so that the broker redelivers
   what is left once the heartbeat is stale.

The death is noticed at once through Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``), and
within :data:`POLL_SECONDS` elsewhere by watching the parent pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import struct
import sys
import threading

from dramatiq import Middleware

logger = logging.getLogger(__name__)

#: Seconds between two looks at the parent pid (the parent-death signal is usually quicker).
POLL_SECONDS = 0.25
#: Seconds an orphaned worker process gets to stop gracefully before it exits hard.
GRACE_SECONDS = 3.0
#: Exit status of a worker process that had to exit hard (EX_SOFTWARE).
HARD_EXIT_STATUS = 70
#: The signal the kernel sends a worker process when its parent dies (not otherwise used by Dramatiq).
DEATH_SIGNAL = signal.SIGUSR1
#: prctl option: signal the calling process when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: A log frame larger than this cannot be one of ours: the pipe is then drained without framing.
MAX_FRAME_BYTES = 16 * 1024 * 1024


class ParentDeathWatch(Middleware):
    """Stops a ``dramatiq`` CLI worker process whose main process died (see the module docstring)."""

    def __init__(self, grace_seconds: float = GRACE_SECONDS, poll_seconds: float = POLL_SECONDS) -> None:
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self._orphaned = threading.Event()
        self._stopped = threading.Event()

    def after_worker_boot(self, broker, worker) -> None:
        parent = multiprocessing.parent_process()
        if parent is None or threading.current_thread() is not threading.main_thread():
            return  # a worker inside another program (tests, dev mode): its owner stops it
        parent_pid = parent.pid
        signal.signal(DEATH_SIGNAL, lambda signum, frame: self._orphaned.set())
        _ask_for_death_signal(DEATH_SIGNAL)
        threading.Thread(
            target=self._watch, args=(parent_pid,), name="parent-death-watch", daemon=True
        ).start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stopped.set()

    def _watch(self, parent_pid: int) -> None:
        while not self._stopped.is_set():
            self._orphaned.wait(self.poll_seconds)
            self._orphaned.clear()  # a stray DEATH_SIGNAL with the parent alive changes nothing
            if os.getppid() != parent_pid and not self._stopped.is_set():
                self._on_orphaned(parent_pid)
                return

    def _on_orphaned(self, parent_pid: int) -> None:
        drain_log_pipe()
        logger.warning(
            "The dramatiq main process %d died: stopping this worker process (pid %d), hard exit in %g s.",
            parent_pid,
            os.getpid(),
            self.grace_seconds,
        )
        timer = threading.Timer(self.grace_seconds, _exit_hard)
        timer.daemon = True
        timer.start()
        os.kill(os.getpid(), signal.SIGTERM)  # the CLI's own handler: a graceful worker stop


def _ask_for_death_signal(signum: int) -> None:
    """Linux: have the kernel send ``signum`` when the parent dies; elsewhere the pid watch does."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)


def _exit_hard() -> None:
    with contextlib.suppress(Exception):
        os.write(2, f"Worker process {os.getpid()} did not stop in time: exiting hard.\n".encode())
    os._exit(HARD_EXIT_STATUS)


def drain_log_pipe() -> bool:
    """Read the CLI's log pipe in a thread and copy its lines to fd 2; False when there is no pipe.

    The CLI replaced ``sys.stderr`` with a ``StreamablePipe`` over the pipe's write end; opening
    ``/proc/self/fd/<fd>`` for reading gives this process a read end of the same pipe.
    """
    stream = sys.stderr
    if type(stream).__name__ != "StreamablePipe":
        return False
    try:
        reader = os.open(f"/proc/self/fd/{stream.fileno()}", os.O_RDONLY)
    except OSError:
        return False
    threading.Thread(target=_copy_frames, args=(reader,), name="log-pipe-drain", daemon=True).start()
    return True


def _copy_frames(reader: int) -> None:
    """Copy ``multiprocessing.Connection`` frames (a 4-byte big-endian size, then the bytes) to fd 2."""
    framed = True
    while True:
        if framed:
            header = _read_exactly(reader, 4)
            if header is None:
                return
            (size,) = struct.unpack("!i", header)
            if not 0 <= size <= MAX_FRAME_BYTES:
                framed = False  # joined mid-frame: copy what comes, unframed
                _write_stderr(header)
                continue
            data = _read_exactly(reader, size)
        else:
            data = os.read(reader, 65536) or None
        if data is None:
            return
        _write_stderr(data)


def _read_exactly(reader: int, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = os.read(reader, missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _write_stderr(data: bytes) -> None:
    with contextlib.suppress(OSError):  # nobody reads our stderr either: the lines are dropped
        os.write(2, data)
