"""``make dev`` (or ``sellersync dev``): the whole system, as separate processes, on embedded defaults.

It starts an embedded redis-server, an embedded document server and the local SP-API sandbox (each
unless its setting names a real one), runs the Procfile's ``release`` step, then supervises the
Procfile's ``web``, ``worker`` (the ``dramatiq`` CLI, 2 processes) and ``scheduler`` processes, their
output prefixed by name. DEMO_USERS demo users are created and synced once, with a line per user and
a summary; then the scheduler keeps them fresh until Ctrl-C, which stops the processes first and the
servers last. While it runs, ``.sellersync-dev.env`` holds its settings for the ``sellersync`` command.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

logger = logging.getLogger("sellersync.dev")


def main(argv: list[str] | None = None) -> int:
    from devmode.demo import sync_demo_users
    from devmode.topology import ReleaseFailed, start
    from embedded.processes import PREFIX_WIDTH
    from services.platform.logs import configure_logging
    from services.platform.settings import settings_or_exit

    settings = settings_or_exit()
    sys.stdout.reconfigure(line_buffering=True)  # progress lines appear as they happen, even in a pipe
    configure_logging(settings.log_format, logging.WARNING)
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    say = lambda line: print(f"{'dev':<{PREFIX_WIDTH}}| {line}", flush=True)  # noqa: E731
    try:
        topology = start(settings, say=say, base_env=_inherited_environment())
    except (RuntimeError, ReleaseFailed) as exc:  # e.g. no redis-server to embed, a failed release
        print(f"sellersync: {exc}", file=sys.stderr)
        return 1
    settings = topology.settings
    try:
        import actors  # the broker this process enqueues the demo jobs on (it runs none), and the store

        producer = actors.producer(settings)
        web = f"http://127.0.0.1:{settings.port}"
        say(
            f"Processes: web on {web}, worker ({settings.worker_processes} processes × "
            f"{settings.worker_concurrency} threads), scheduler (a tick every "
            f"{settings.scheduler_every_seconds:g} s)"
        )
        say(f"Dashboard: {web}/app/job-status/  (API token: {settings.api_tokens[0]})")
        env_file = write_env_file(settings)
        say(f"Settings of this run: {env_file} (sellersync --env-file {env_file} …)")
        if not stop.is_set():
            sync_demo_users(producer, stop, say, topology.sandbox)
        if not stop.is_set():
            say("Running until Ctrl-C.")
        stop.wait()
    finally:
        say("Stopping: processes first, then the servers…")
        ENV_FILE.unlink(missing_ok=True)
        statuses = topology.stop()
        say(f"Stopped ({', '.join(f'{name} {code}' for name, code in statuses.items())}).")
    return 0


#: Where dev mode leaves its settings for the ``sellersync`` command, while it runs.
ENV_FILE = Path(".sellersync-dev.env")


def write_env_file(settings) -> Path:
    """Write the running system's settings (readable by the owner only: a key and a token are in it)."""
    ENV_FILE.unlink(missing_ok=True)
    descriptor = os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.writelines(f"{name}={value}\n" for name, value in settings.to_env().items())
    return ENV_FILE


def _inherited_environment() -> dict[str, str]:
    """What the processes inherit from this one's environment besides the settings: PATH, HOME, locale,
    and WEB_BIND (the web process's address, 127.0.0.1 in dev mode unless it says otherwise).

    (Settings reach them through ``Settings.to_env``; these are the operating system's own variables,
    and WEB_BIND is the Procfile's, like WEB_CONCURRENCY: read by the shell that runs the web line.)
    """
    inherited = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "WEB_BIND")
    return {k: v for k, v in os.environ.items() if k in inherited}


if __name__ == "__main__":
    sys.exit(main())
