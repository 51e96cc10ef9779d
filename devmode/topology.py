"""The real topology on one machine: embedded servers, the release step, then the Procfile's processes.

:func:`start` brings up, in order:

1. an embedded redis-server unless REDIS_URL is set, an embedded document server (SecantusDB) unless
   MONGODB_URI is set, and the local SP-API sandbox unless LWA credentials or SP_API_ENDPOINT are set;
2. the Procfile's ``release`` step, once;
3. the Procfile's ``web``, ``worker`` (the ``dramatiq`` CLI) and ``scheduler`` as separate supervised
   processes (embedded.processes), each restarted if it dies, as a PaaS restarts a dyno.

:meth:`DevTopology.stop` stops the processes first and the servers last, so that no process logs a
lost connection on the way out. The end-to-end tests start the same topology on their own servers.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from cryptography.fernet import Fernet

from embedded.processes import Supervisor
from embedded.procfile import read_procfile
from embedded.stack import Stack, start_stack
from services.platform.settings import Settings

#: Sandbox quotas refill this many times faster than Amazon's in dev mode, unless SANDBOX_TIME_SCALE says.
DEV_SANDBOX_TIME_SCALE = 60.0
#: The scheduler ticks this often in dev mode, unless SCHEDULER_EVERY_SECONDS says.
DEV_TICK_SECONDS = 30.0
#: Worker processes of the ``dramatiq`` CLI in dev mode when WORKER_PROCESSES keeps its default of 1:
#: more than one, so that dev mode shows the multi-process topology of production.
DEV_WORKER_PROCESSES = 2
#: The address dev mode's web process listens on unless WEB_BIND says (the Procfile's default, 0.0.0.0,
#: is a PaaS's: its router is the only way in). Dev mode prints its API token and runs with a generated
#: key, so it answers this machine only, as every embedded server does; WEB_BIND=0.0.0.0 opens it up.
DEV_WEB_BIND = "127.0.0.1"
#: The processes of the Procfile that run for as long as the system does, in start order.
LONG_RUNNING = ("web", "worker", "scheduler")


class ReleaseFailed(RuntimeError):
    """The release step exited non-zero; nothing else is started."""


@dataclass
class DevTopology:
    """What :func:`start` started; ``settings`` are those every process was given."""

    settings: Settings
    supervisor: Supervisor
    stack: Stack
    notes: list[str] = field(default_factory=list)

    @property
    def sandbox(self) -> Any:
        """The local SP-API sandbox, or None when the settings name an SP-API."""
        return self.stack.sandbox

    def stop(self, timeout: float = 20.0) -> dict[str, int | None]:
        """Stop the processes (SIGTERM, then SIGKILL after ``timeout``), then the servers."""
        statuses = self.supervisor.stop(timeout=timeout)
        self.stack.stop()
        return statuses


def dev_settings(settings: Settings) -> dict[str, Any]:
    """The changes dev mode makes to ``settings`` that need no server: tokens, keys, pace."""
    changes: dict[str, Any] = {}
    if not settings.api_tokens:
        changes["api_tokens"] = (secrets.token_urlsafe(24),)
    if not settings.fernet_key:
        changes["fernet_key"] = Fernet.generate_key().decode()
    if settings.worker_processes == Settings.worker_processes:
        changes["worker_processes"] = DEV_WORKER_PROCESSES
    if settings.scheduler_every_seconds is None:
        changes["scheduler_every_seconds"] = DEV_TICK_SECONDS
    return changes


def start(
    settings: Settings,
    *,
    out: IO[str] | None = None,
    say: Callable[[str], None] = print,
    processes: tuple[str, ...] = LONG_RUNNING,
    extra_env: dict[str, str] | None = None,
    base_env: dict[str, str] | None = None,
) -> DevTopology:
    """Start the servers that are not configured, run ``release``, then ``processes``.

    Returns the running topology; on a failure everything started so far is stopped again.
    """
    from services.platform.settings import configure

    stack, server_changes = start_servers(settings, say)
    try:
        settings = configure(settings, **dev_settings(settings), **server_changes)
        env = {"WEB_BIND": DEV_WEB_BIND, **(base_env or {}), **settings.to_env(), **(extra_env or {})}
        topology = DevTopology(settings, Supervisor(env, out=out), stack)
    except BaseException:
        stack.stop()
        raise
    try:
        release_then_start(topology.supervisor, processes)
    except BaseException:
        topology.stop()
        raise
    return topology


def start_servers(settings: Settings, say: Callable[[str], None] = print) -> tuple[Stack, dict[str, Any]]:
    """The servers the settings do not name (embedded.stack), and the settings that point at them."""
    from sandbox.config import SandboxConfig
    from sandbox.server import start_sandbox

    scale = settings.sandbox_time_scale or DEV_SANDBOX_TIME_SCALE
    local_sandbox = settings.uses_sandbox and not settings.sp_api_endpoint
    stack = start_stack(
        redis_url=settings.redis_url,
        mongodb_uri=settings.mongodb_uri,
        sandbox=functools.partial(start_sandbox, config=SandboxConfig(time_scale=scale))
        if local_sandbox
        else None,
    )
    changes: dict[str, Any] = {"redis_url": stack.redis_url, "mongodb_uri": stack.mongodb_uri}
    if stack.sandbox is not None:
        # Our quota buckets follow the sandbox's faster refill, or we would wait at Amazon's rates.
        changes.update(
            sp_api_endpoint=stack.sandbox.url,
            sp_api_lwa_endpoint=stack.sandbox.url,
            sp_api_quota_time_scale=scale,
            sandbox_time_scale=scale,
        )
    for line in server_lines(settings, stack, scale):
        say(line)
    return stack, changes


def server_lines(settings: Settings, stack: Stack, scale: float) -> list[str]:
    """What dev mode says about each server: embedded, or named by a setting."""
    documents = stack.documents
    return [
        f"Redis: embedded redis-server at {stack.redis_url}" if stack.redis else "Redis: REDIS_URL",
        f"MongoDB: embedded document server (SecantusDB, in memory) at 127.0.0.1:{documents.port}"
        if documents
        else "MongoDB: MONGODB_URI",
        f"SP-API: local sandbox at {stack.sandbox.url} (quotas × {scale:g})"
        if stack.sandbox
        else f"SP-API: {settings.sp_api_endpoint or 'Amazon'}",
    ]


def release_then_start(supervisor: Supervisor, processes: tuple[str, ...]) -> None:
    """The Procfile's ``release`` step, once; then ``processes``, each restarted whenever it dies."""
    commands = read_procfile()
    status = supervisor.run_once("release", commands["release"])
    if status != 0:
        raise ReleaseFailed(f"the release step exited with {status}")
    for name in processes:
        supervisor.start(name, commands[name], restart=True)
