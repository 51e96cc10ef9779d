"""The container image (the Dockerfile), as each process type of the Procfile: ``IMAGE release``,
``IMAGE web``, ``IMAGE worker`` and ``IMAGE scheduler``, on this session's Redis, document server and
SP-API sandbox. The containers use the host's network, so they reach those servers on 127.0.0.1.

``make image-test`` builds the image and runs this module (SELLERSYNC_IMAGE names the image).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from embedded.ports import free_port
from models import JobStatus
from tests.support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

IMAGE = os.environ.get("SELLERSYNC_IMAGE", "localhost/sellersync:latest")
PODMAN = os.environ.get("PODMAN", "podman")
#: The uid the Dockerfile runs every process as.
APP_UID = 10001


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*shlex.split(PODMAN), *args], capture_output=True, text=True, timeout=timeout)


def env_file(settings, folder: Path, **extra: str) -> str:
    """The settings of this session as a container's environment (podman's --env-file)."""
    env = {**settings.to_env(), **extra}
    assert all("\n" not in value for value in env.values())
    path = folder / "container.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    return str(path)


class Containers:
    """Detached containers of the image, named after this test run, removed at the end."""

    def __init__(self, env: str, port: int) -> None:
        self.env = env
        #: web's port (PORT), on the host's network.
        self.port = port
        self.names: list[str] = []

    def start(self, process: str) -> str:
        name = f"sellersync-test-{os.getpid()}-{process}"
        started = podman("run", "--detach", "--name", name, "--network", "host", "--env-file", self.env,
                         IMAGE, process)  # fmt: skip
        assert started.returncode == 0, started.stderr
        self.names.append(name)
        return name

    def logs(self, name: str) -> str:
        done = podman("logs", name)
        return done.stdout + done.stderr

    def running(self, name: str) -> bool:
        return podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"

    def stop(self, name: str) -> int:
        """SIGTERM, as a platform stops a process; the exit code."""
        podman("stop", "--time", "20", name, timeout=60)
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())

    def remove_all(self) -> None:
        for name in self.names:
            podman("rm", "--force", name, timeout=60)


@pytest.fixture
def containers(settings, tmp_path) -> Iterator[Containers]:
    port = free_port()
    extra = {
        "PORT": str(port),
        "WEB_BIND": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "SCHEDULER_EVERY_SECONDS": "1",
    }
    running = Containers(env_file(settings, tmp_path, **extra), port)
    try:
        yield running
    finally:
        running.remove_all()


def get(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, str]:
    """GET (POST with a JSON body) from the host: the status and the text; 0 when nothing answers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.request(
            "POST" if body is not None else "GET", url, json=body, headers=headers, timeout=5
        )
    except httpx.TransportError:
        return 0, ""
    return answer.status_code, answer.text


def test_the_image_runs_as_a_non_root_user_with_no_compiler_and_a_health_check():
    # When a command runs in the image instead of a process type
    done = podman(
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "id -u; for c in gcc cc pip; do command -v $c; done; true",
    )

    # Then it runs as the app's user, and neither a compiler nor pip is there
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(APP_UID)]
    # And the image carries the web's health check
    check = json.loads(podman("image", "inspect", "--format", "{{json .HealthCheck}}", IMAGE).stdout)
    assert check["Test"] == ["CMD", "/app/deploy/container/healthcheck.sh"]


def test_the_default_is_web_any_other_word_is_a_command_and_an_empty_command_line_is_refused():
    # When the image runs with no argument and no settings
    done = podman("run", "--rm", "--network", "none", IMAGE)
    # Then it is the web process, which names the first setting it lacks
    assert done.returncode != 0
    assert "sellersync: REDIS_URL " in done.stderr and "the web process" in done.stderr, done.stderr

    # When it is given a command that is no process type, it runs it
    assert (
        podman("run", "--rm", "--network", "none", IMAGE, "python", "-c", "print(6 * 7)").stdout.strip()
        == "42"
    )

    # When the entrypoint is given nothing at all, it refuses, naming the process types
    done = podman(
        "run", "--rm", "--network", "none", "--entrypoint", "/app/deploy/container/entrypoint.sh", IMAGE
    )
    assert done.returncode == 64 and "(release web worker scheduler)" in done.stderr, done.stderr


def test_release_creates_the_indexes(settings, tmp_path):
    # Given a store whose job records lost their indexes
    collection = JobStatus._get_collection()
    collection.drop_indexes()
    assert list(collection.index_information()) == ["_id_"]

    # When the image runs its release process
    done = podman(
        "run", "--rm", "--network", "host", "--env-file", env_file(settings, tmp_path), IMAGE, "release"
    )

    # Then it exits 0 and the indexes are back
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(collection.index_information()) > 1


def test_web_worker_and_scheduler_sync_users_and_stop_on_sigterm(settings, make_user, containers):
    # Given a user the scheduler finds due, and one with scheduled syncs off
    make_user("image-due", [("US", "image-due-us")])
    make_user("image-manual", [("DE", "image-manual-de")], sync_enabled=False)
    token = settings.api_tokens[0]
    base = f"http://127.0.0.1:{containers.port}"

    # When the image runs web, worker and scheduler
    web, worker, scheduler = (containers.start(p) for p in ("web", "worker", "scheduler"))

    # Then web answers /health, and so does the image's health check
    wait_for(lambda: get(f"{base}/health")[0] == 200, timeout=60, interval=0.5)
    check = podman("healthcheck", "run", web)
    assert check.returncode == 0, check.stdout + check.stderr
    # (which does ask web: pointed at a port where nothing listens, it fails)
    wrong = podman("exec", "--env", f"PORT={free_port()}", web, "/app/deploy/container/healthcheck.sh")
    assert wrong.returncode == 1 and "/health: " in wrong.stdout, wrong.stdout + wrong.stderr
    # And the scheduler enqueues the due user, whose sync the worker completes
    due = wait_for(lambda: JobStatus.objects(user_id="image-due", status="completed").first(), 60, 0.5)
    assert due.trigger == "schedule"
    # And a sync asked of web is completed by the worker too
    status, body = get(f"{base}/app/job-status/sync", token, {"userIds": ["image-manual"]})
    assert status == 202, body
    job_id = json.loads(body)["jobs"][0]["jobId"]
    wait_for(lambda: JobStatus.objects(job_id=job_id, status="completed").first(), 60, 0.5)
    status, body = get(f"{base}/app/job-status/status/job/{job_id}", token)
    assert status == 200 and json.loads(body)["status"] == "completed", body
    # And /metrics (web) shows the ticks the scheduler recorded
    metrics = get(f"{base}/metrics")[1]
    tick = next(line for line in metrics.splitlines()
                if line.startswith("sellersync_scheduler_last_tick_timestamp_seconds"))  # fmt: skip
    assert float(tick.split()[-1]) > 0
    assert "Tick:" in containers.logs(scheduler)

    # When each is sent SIGTERM, as a platform stops a process
    # Then each stops by itself, with exit code 0
    for name in (scheduler, worker, web):
        assert containers.running(name), containers.logs(name)
        assert containers.stop(name) == 0, containers.logs(name)
