"""Supervise the Procfile's processes as a PaaS would: each in its own session, output prefixed by name,
a process that dies restarted, and a stop that ends them all, process groups included.

Dev mode, the end-to-end and reliability tests and the benchmarks run the real topology with it:

    supervisor = Supervisor(env)
    supervisor.start("worker", commands["worker"], restart=True)
    ...
    supervisor.stop()          # SIGTERM each, newest first; SIGKILL whatever outlives the timeout

Commands are shell lines (``${PORT:-8000}`` is expanded by ``/bin/sh``), run with ``exec`` so that the
supervised pid is the process itself, and with this interpreter's folder first on PATH, so that
``python`` is this virtualenv's Python whether or not it is activated. A supervised process gets
SIGTERM when the supervisor's process dies, even by SIGKILL (:mod:`embedded.lifeline`): it stops as
on a deploy, and nothing of a killed ``make dev`` lingers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from embedded.lifeline import kill, send_signal, start_tied

#: Width of the name column before ``|`` in the supervised output.
PREFIX_WIDTH = 11
#: Seconds between two looks at whether a supervised process is still alive.
POLL_SECONDS = 0.2
#: Seconds a restarted process waits after a death, so that a process that cannot start is not
#: restarted in a tight loop.
RESTART_DELAY_SECONDS = 1.0


@dataclass
class Supervised:
    """One process type: its command, the running Popen, and how often it was (re)started."""

    name: str
    command: str
    restart: bool
    process: subprocess.Popen | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this interpreter's folder first on PATH and unbuffered Python output."""
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", os.defpath)
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{path}", "PYTHONUNBUFFERED": "1"}


class Supervisor:
    """Starts, watches, restarts and stops processes; writes their output, prefixed, to ``out``."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        out: IO[str] | None = None,
        cwd: str | Path | None = None,
        on_line: Callable[[str, str], None] | None = None,
    ) -> None:
        self.env = child_environment(env)
        self.out = out if out is not None else sys.stdout
        self.cwd = str(cwd or Path(__file__).resolve().parents[1])
        self.on_line = on_line
        self.processes: dict[str, Supervised] = {}
        self._write_lock = threading.Lock()
        #: The threads copying each process's output to ``out`` (the finished ones pruned at each start).
        self._pumps: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._width = PREFIX_WIDTH
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._watcher.start()

    # -- starting ----------------------------------------------------------------------------------
    def run_once(self, name: str, command: str, timeout: float = 120.0) -> int:
        """Run ``command`` to its end (the release step); returns its exit status."""
        supervised = Supervised(name, command, restart=False)
        self._spawn(supervised)
        assert supervised.process is not None
        try:
            return supervised.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(supervised)
            raise

    def start(self, name: str, command: str, *, restart: bool = False) -> Supervised:
        """Start ``command`` as process ``name``; with ``restart`` it is started again whenever it dies."""
        supervised = Supervised(name, command, restart)
        self.processes[name] = supervised
        self._spawn(supervised)
        return supervised

    def _spawn(self, supervised: Supervised) -> None:
        self._width = max(self._width, len(supervised.name) + 2)
        process = start_tied(
            ["/bin/sh", "-c", f"exec {supervised.command}"],
            death_signal=signal.SIGTERM,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Its own session and process group: a Ctrl-C in the terminal reaches the supervisor only,
            # which stops the processes in order; and killpg reaches the process's own children.
            start_new_session=True,
        )
        supervised.process = process
        supervised.starts += 1
        pump = threading.Thread(
            target=self._pump, args=(supervised.name, process), name=f"out-{supervised.name}", daemon=True
        )
        self._pumps = [*(p for p in self._pumps if p.is_alive()), pump]
        pump.start()

    # -- output ------------------------------------------------------------------------------------
    def _pump(self, name: str, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.say(name, line.rstrip("\n"))
        process.stdout.close()

    def say(self, name: str, line: str) -> None:
        """Write ``line`` as process ``name``'s (the supervisor's own notes use its name too)."""
        with self._write_lock:
            self.out.write(f"{name:<{self._width}}| {line}\n")
            self.out.flush()
        if self.on_line is not None:
            self.on_line(name, line)

    # -- watching ----------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            for supervised in list(self.processes.values()):
                process = supervised.process
                if process is None or process.poll() is None or self._stopping.is_set():
                    continue
                if supervised.exits and len(supervised.exits) >= supervised.starts:
                    continue  # this death is recorded already (a process that is not restarted)
                supervised.exits.append(process.returncode)
                if supervised.restart:
                    self.say("supervisor", f"{supervised.name} exited with {process.returncode}; restarting")
                    # Whatever it left in its process group goes with it, as with a dyno's container.
                    self._kill_group(supervised)
                    if self._stopping.wait(RESTART_DELAY_SECONDS):
                        return
                    self._spawn(supervised)
                else:
                    self.say("supervisor", f"{supervised.name} exited with {process.returncode}")

    # -- stopping ----------------------------------------------------------------------------------
    def signal(self, name: str, signum: int = signal.SIGKILL, *, group: bool = False) -> int | None:
        """Send ``signum`` to process ``name`` (``group``: to its whole process group); returns the pid."""
        supervised = self.processes[name]
        if not supervised.alive():
            return None
        assert supervised.process is not None
        return supervised.process.pid if send_signal(supervised.process, signum, group=group) else None

    def stop(self, timeout: float = 20.0) -> dict[str, int | None]:
        """SIGTERM every process at once, and wait up to ``timeout`` seconds for them to exit; then
        SIGKILL each one's whole process group (nothing it started outlives it). Returns exit statuses,
        newest process first."""
        self._stopping.set()
        running = [s for s in reversed(list(self.processes.values())) if s.process is not None]
        for supervised in running:
            send_signal(supervised.process, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + timeout
        statuses: dict[str, int | None] = {}
        for supervised in running:
            try:
                supervised.process.wait(timeout=max(0.0, deadline - time.monotonic()))  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                self.say("supervisor", f"{supervised.name} did not stop within {timeout:g} s; killing it")
            self._kill_group(supervised)
            statuses[supervised.name] = supervised.process.poll()  # type: ignore[union-attr]
        self._watcher.join(timeout=2)
        # The processes' last lines are written before stop returns: the caller may close ``out`` next.
        for pump in self._pumps:
            pump.join(timeout=2)
        return statuses

    @staticmethod
    def _kill_group(supervised: Supervised) -> None:
        if supervised.process is not None:
            kill(supervised.process, group=True)
