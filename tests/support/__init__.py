"""Helpers shared by the test suites (import as ``tests.support``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def finished(job_id: str):
    """The job's record once it has finished (completed, failed or cancelled), else None."""
    from models import JobStatus
    from models.jobs import FINISHED_STATUSES

    record = JobStatus.objects(job_id=job_id).first()
    return record if record is not None and record.status in FINISHED_STATUSES else None


def wait_finished(job_id: str, timeout: float = 60.0):
    """Wait for the job to finish; its record."""
    return wait_for(lambda: finished(job_id), timeout=timeout)


def start_child(args, **popen):
    """``subprocess.Popen(args, **popen)`` for a process a test starts: the kernel SIGTERMs it when the
    test's process dies, even by SIGKILL, so that an interrupted or killed test run leaves no worker,
    web or scheduler process running (it stops as on a deploy, and takes its own children with it)."""
    import signal

    from embedded.lifeline import start_tied

    return start_tied(args, death_signal=signal.SIGTERM, **popen)


def settings_env(settings, **overrides: str) -> dict[str, str]:
    """The environment that makes a subprocess read the same ``settings`` (plus ``overrides``)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "MONGODB_", "SP_API_", "JOB_"))}
    return {**env, **settings.to_env(), **overrides}


class CliWorker:
    """The Procfile's ``worker``: the ``dramatiq`` CLI in its own session, logging to ``log_path``."""

    def __init__(self, settings, log_path, *, processes: int = 1, threads: int = 3, **env: str) -> None:
        import subprocess
        import sys

        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 (closed by stop)
        command = [sys.executable, "-m", "dramatiq", "actors", "--path", ".",
                   "--processes", str(processes), "--threads", str(threads)]  # fmt: skip
        self.process = start_child(
            command, env=settings_env(settings, **env), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the whole worker (main and worker processes), as a host that dies."""
        from embedded.lifeline import kill

        kill(self.process, group=True)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as a deploy stops a dyno; SIGKILL when it does not stop in 20 s."""
        from embedded.lifeline import stop_process

        stop_process(self.process, timeout=20, group=True)
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return open(self.log_path).read()

    def __enter__(self) -> CliWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rabbitmq_url() -> str:
    """RABBITMQ_URL (default: this machine's RabbitMQ on 5672) when a server answers there; a test
    that needs one is skipped locally without it, and fails in CI."""
    import os
    import socket
    from urllib.parse import urlsplit

    import pytest

    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 5672), timeout=1).close()
    except OSError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no RabbitMQ at {parts.hostname}:{parts.port or 5672} ({exc})")
    return url
