"""The installed ``sellersync`` script, run as an operator runs it: a process of its own, on the
environment of the test's Redis, document server and sandbox (the README's walk-through)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.operations.demo import sandbox_token
from services.platform.settings import Settings
from tests.cli.test_cli_doctor import closed_port
from tests.support import start_child

pytestmark = pytest.mark.e2e

SCRIPT = Path(sys.executable).parent / "sellersync"
TOKEN = sandbox_token("acme-us")


def environment(settings: Settings | None, **overrides: str) -> dict[str, str]:
    """A bare environment (PATH, HOME) with the settings' variables, as Settings.from_env reads them."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return {**env, **(settings.to_env() if settings else {}), **overrides}


@pytest.fixture
def operator(settings, tmp_path):
    """``operator("users", "add", "u1")``: the script's CompletedProcess (cwd without a .env)."""
    if not settings.mongodb_uri:
        pytest.skip("MONGODB_URI is empty: the script needs the test's document server")
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: pip install -e '.[dev]' installs the console script")

    def run(*argv: str, stdin: str = "", bare: bool = False, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SCRIPT), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=environment(None if bare else settings, **env),
        )

    return run


def test_an_operator_onboards_a_seller_and_sees_its_first_sync_with_the_script(
    operator, worker, settings, redis_client, producer
):
    # Given a worker running (in this process, on the same Redis and store)
    # When the operator adds a user and connects a sandbox seller, the token piped on stdin
    added = operator("users", "add", "op-1", "--email", "op-1@example.com")
    connected = operator("accounts", "add", "op-1", "US", "--seller-id", "acme-us", stdin=TOKEN + "\n")
    # Then both succeed, and the token is echoed nowhere
    assert (added.returncode, connected.returncode) == (0, 0), (added.stderr, connected.stderr)
    assert "Added user op-1" in added.stdout
    assert "Connected account na/US of user op-1" in connected.stdout
    assert TOKEN not in connected.stdout + connected.stderr
    # And `status --user` shows the first sync completed
    deadline = time.monotonic() + 60
    while True:
        status = operator("status", "--user", "op-1", "--json")
        assert status.returncode == 0, status.stderr
        latest = json.loads(status.stdout)["latest"]
        if latest and latest["status"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert latest["status"] == "completed", latest
    assert "completed" in operator("status", "--user", "op-1").stdout
    # And capacity measured that job
    capacity = operator("capacity", "--json")
    assert capacity.returncode == 0, capacity.stderr
    assert json.loads(capacity.stdout)["measured"]["jobs"] == 1
    # And, once a scheduler has ticked, the doctor finds nothing wrong
    from cron.scheduler import SyncScheduler

    scheduler = SyncScheduler(settings, producer, redis_client)
    scheduler.tick()
    try:
        doctor = operator("doctor")
    finally:
        scheduler.close(timeout=5)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "All 10 checks passed." in doctor.stdout


def test_the_script_reports_an_unreachable_redis_and_exits_1(operator):
    ran = operator("doctor", REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    assert ran.returncode == 1
    assert "FAIL  redis: cannot reach Redis at 127.0.0.1:" in ran.stdout


def test_the_doctor_reports_a_malformed_setting_by_name(operator):
    ran = operator("doctor", FERNET_KEY="not-a-fernet-key")
    assert ran.returncode == 1
    assert ran.stdout.startswith("FAIL  settings: FERNET_KEY:")
    assert "not-a-fernet-key" not in ran.stdout + ran.stderr


def test_the_script_refuses_bad_arguments_and_settings_with_one_line_and_exit_2(operator):
    bad_args = operator("enqueue", "--bogus")
    bad_setting = operator("users", "list", WORKER_CONCURRENCY="many")
    unknown = operator("status", "--user", "ghost")
    assert bad_args.returncode == 2 and len(bad_args.stderr.splitlines()) == 1
    assert bad_setting.returncode == 2
    assert (
        bad_setting.stderr.startswith("sellersync: WORKER_CONCURRENCY:")
        and len(bad_setting.stderr.splitlines()) == 1
    )
    assert unknown.returncode == 1 and unknown.stderr == "sellersync: no user with id 'ghost'\n"


def test_python_dash_m_cli_is_the_same_command(tmp_path):
    ran = subprocess.run(
        [sys.executable, "-m", "cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert ran.returncode == 0, ran.stderr
    assert "capacity" in ran.stdout and "doctor" in ran.stdout


def test_the_operators_walk_through_on_sellersync_dev(tmp_path):
    """docs/operators.md, step by step: dev mode in one shell, the command in another, no Python."""
    from embedded.ports import free_port

    # Given a fresh folder, with no .env
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    dev_env = {**bare, "PORT": str(free_port()), "DEMO_USERS": "0"}
    # When `sellersync dev` runs, and leaves its settings in .sellersync-dev.env for the command
    process = start_child(
        [str(SCRIPT), "dev"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=dev_env,
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 90
        for line in process.stdout:
            seen.append(line)
            if "Running until Ctrl-C." in line or time.monotonic() > deadline:
                break
        assert "sellersync --env-file .sellersync-dev.env" in "".join(seen)
        assert (tmp_path / ".sellersync-dev.env").stat().st_mode & 0o777 == 0o600
        env = bare

        def sellersync(*argv: str, stdin: str = "") -> subprocess.CompletedProcess:
            return subprocess.run(
                [str(SCRIPT), "--env-file", ".sellersync-dev.env", *argv],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=60,
                cwd=tmp_path,
                env=env,
            )

        # And the operator adds a user, connects a sandbox seller and waits for its first sync
        added = sellersync("users", "add", "acme", "--email", "ops@acme.example")
        connected = sellersync("accounts", "add", "acme", "US", "--seller-id", "acme-us", stdin=TOKEN + "\n")
        deadline = time.monotonic() + 60
        while "completed" not in (status := sellersync("status", "--user", "acme")).stdout:
            assert time.monotonic() < deadline, status.stdout + status.stderr
            time.sleep(0.5)
        capacity = sellersync("capacity")
        doctor = sellersync("doctor")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    # Then every step succeeded on dev mode's own processes, and dev mode stopped cleanly
    assert (added.returncode, connected.returncode) == (0, 0), added.stderr + connected.stderr
    assert "Sync enqueued" in connected.stdout and TOKEN not in connected.stdout + connected.stderr
    assert status.stdout.startswith("User acme: last synced 20")
    assert capacity.returncode == 0 and "Measured over the last 24 h: 1 finished job." in capacity.stdout
    assert doctor.returncode == 0, doctor.stdout
    assert "OK    workers: 2 worker processes alive" in doctor.stdout
    assert code == 0
    assert not (tmp_path / ".sellersync-dev.env").exists()


def test_env_file_gives_the_settings_of_another_environment(operator, settings, tmp_path, make_user):
    # Given a file with the deployment's settings, and a shell whose environment has none of them
    make_user("u1", [("US", "acme-us")])
    env_file = tmp_path / "deployment.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in settings.to_env().items()))
    # When the command reads its settings from the file
    listed = operator("--env-file", str(env_file), "users", "list", "--json", bare=True)
    without = operator("users", "list", bare=True)
    missing = operator("--env-file", str(tmp_path / "nope.env"), "users", "list", bare=True)
    # Then it reaches the deployment's store; without the file it says which setting is missing
    assert listed.returncode == 0, listed.stderr
    assert [u["userId"] for u in json.loads(listed.stdout)["users"]] == ["u1"]
    assert without.returncode == 2 and without.stderr.startswith("sellersync: MONGODB_URI")
    assert missing.returncode == 2 and "--env-file: no such file" in missing.stderr


def test_on_a_terminal_the_token_is_read_at_a_prompt_that_does_not_echo_it(
    operator, settings, tmp_path, make_user
):
    import pty

    # Given a user, and the command run on a terminal (a pseudo-terminal, as an operator's shell)
    make_user("u1")
    leader, follower = pty.openpty()
    process = start_child(
        [str(SCRIPT), "accounts", "add", "u1", "US", "--seller-id", "acme-us"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=tmp_path,
        env=environment(settings),
        close_fds=True,
    )
    os.close(follower)
    # When the operator types the token at the prompt
    screen = b""
    while b"Refresh token" not in screen:
        screen += os.read(leader, 1024)
    os.write(leader, TOKEN.encode() + b"\n")
    code = process.wait(timeout=60)
    while True:
        try:
            chunk = os.read(leader, 1024)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    # Then the account is connected and the terminal never showed the token
    text = screen.decode(errors="replace")
    assert code == 0, text
    assert "Refresh token (not shown):" in text and "Connected account na/US of user u1" in text
    assert TOKEN not in text and "sandbox-acme-us" not in text
