"""The partition scenario's topology: servers in one namespace, worker hosts in others (netns).

The servers' namespace runs a redis-server, the document server (SecantusDB) and the SP-API sandbox,
all on :data:`netns.SERVER_ADDRESS`, plus the probe (``partition_probe``) through which the test reads
the stores. Each host runs the Procfile's ``worker`` under ``ip netns exec``. Every process is one of
the Supervisor's, so ``stop()`` ends exactly what was started here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from embedded.document_server import document_server_uri, server_script
from embedded.processes import Supervisor, child_environment
from embedded.redis_server import redis_server_binary
from tests.reliability.netns import SERVER_ADDRESS, Network
from tests.reliability.support import worker_command
from tests.support import settings_env, start_child, wait_for

REDIS_PORT, DOCUMENTS_PORT, SANDBOX_PORT = 6379, 27017, 8811
ROOT = Path(__file__).resolve().parents[2]


def stack_env(settings, heartbeat_timeout_ms: int) -> dict[str, str]:
    """The settings of every process of the scenario: the servers' namespace addresses only."""
    sandbox = f"http://{SERVER_ADDRESS}:{SANDBOX_PORT}"
    return settings_env(
        settings,
        REDIS_URL=f"redis://{SERVER_ADDRESS}:{REDIS_PORT}/0",
        MONGODB_URI=document_server_uri(SERVER_ADDRESS, DOCUMENTS_PORT, "sellersync-partition"),
        SP_API_ENDPOINT=sandbox,
        SP_API_LWA_ENDPOINT=sandbox,
        BROKER_HEARTBEAT_TIMEOUT_MS=str(heartbeat_timeout_ms),
        BROKER_MAINTENANCE_CHANCE="1000000",
    )


class PartitionStack:
    """Servers, probe and worker hosts on ``network``; output of every process in ``log_path``."""

    def __init__(self, network: Network, settings, log_path: Path, heartbeat_timeout_ms: int) -> None:
        self.network = network
        self.env = stack_env(settings, heartbeat_timeout_ms)
        self.log_path = log_path
        self.supervisor = Supervisor(self.env, out=log_path.open("a"), cwd=ROOT)
        self.probe_process: subprocess.Popen | None = None

    def start_servers(self, time_scale: float) -> None:
        on_servers = self.network.exec_prefix()
        self.supervisor.start("redis", f"{on_servers} {redis_server_binary()} --port {REDIS_PORT} "
                              f"--bind {SERVER_ADDRESS} --save '' --appendonly no")  # fmt: skip
        self.supervisor.start("documents", f"{on_servers} {server_script()} --host {SERVER_ADDRESS} "
                              f"--port {DOCUMENTS_PORT} --storage-path :memory:")  # fmt: skip
        self.supervisor.start("sandbox", f"{on_servers} {sys.executable} -m sandbox --host {SERVER_ADDRESS} "
                              f"--port {SANDBOX_PORT} --time-scale {time_scale:g}")  # fmt: skip
        wait_for(lambda: "SP-API sandbox listening" in self.log_path.read_text(), timeout=30)
        release = self.supervisor.run_once(
            "release", f"{on_servers} {sys.executable} -m services.operations.release"
        )
        assert release == 0, self.log_path.read_text()[-2000:]
        self._start_probe()

    def _start_probe(self) -> None:
        probe = [sys.executable, "-m", "tests.reliability.partition_probe"]
        command = [*self.network.exec_prefix().split(), *probe]
        self.probe_process = start_child(
            command, cwd=ROOT, env=child_environment(self.env), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        assert self._read() == {"ready": True}

    def _read(self) -> dict:
        assert self.probe_process is not None and self.probe_process.stdout is not None
        line = self.probe_process.stdout.readline()
        assert line, "the probe stopped"
        return json.loads(line)

    def ask(self, **request: object) -> dict:
        """One request to the probe (see partition_probe); raises on its error."""
        assert self.probe_process is not None and self.probe_process.stdin is not None
        self.probe_process.stdin.write(json.dumps(request) + "\n")
        self.probe_process.stdin.flush()
        reply = self._read()
        assert "error" not in reply, reply
        return reply

    def start_worker(self, host: str, threads: int) -> None:
        """The Procfile's ``worker`` (1 process) on ``host``; its lines are prefixed with the host."""
        self.supervisor.start(host, f"{self.network.exec_prefix(host)} {worker_command(1, threads)}")

    def stop(self) -> None:
        if self.probe_process is not None and self.probe_process.poll() is None:
            self.probe_process.kill()
            self.probe_process.wait(timeout=10)
        self.supervisor.stop(timeout=10)
