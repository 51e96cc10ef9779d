"""Hosts for the partition scenario: Linux network namespaces joined by a bridge (iproute2, as root).

``Network("ss1234", hosts=("h1", "h2"))`` creates a namespace ``<prefix>-srv`` holding a bridge with
:data:`SERVER_ADDRESS`, and one namespace per host, each joined to the bridge by a veth pair, with
its own address. Every address lives inside these namespaces: nothing is added to the machine's own
network, and removing the namespaces removes every link. ``cut(host)`` drops the host's side of the
bridge (its veth on the bridge goes down: the host's packets are lost silently, its connections stay
open, as on a real partition); ``restore(host)`` brings it back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

#: The servers' address, on the bridge of the servers' namespace.
SERVER_ADDRESS = "10.77.0.1"
_PREFIX_LENGTH = 24


def available() -> str | None:
    """Why namespaces cannot be made here (not root, no ``ip``), or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    return None


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *args] if namespace is None else ["ip", "-n", namespace, *args]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=10)


class Network:
    """The servers' namespace and one namespace per host; a context manager that removes them all."""

    def __init__(self, prefix: str, hosts: Sequence[str]) -> None:
        self.server = f"{prefix}-srv"
        self.hosts = {host: f"{prefix}-{host}" for host in hosts}
        self._made: list[str] = []

    def address(self, host: str) -> str:
        return f"10.77.0.{11 + list(self.hosts).index(host)}"

    def exec_prefix(self, host: str | None = None) -> str:
        """What a shell command is prefixed with to run on ``host`` (None: the servers' namespace)."""
        return f"ip netns exec {self.hosts[host] if host else self.server}"

    def __enter__(self) -> Network:
        try:
            self._add_namespace(self.server)
            _ip("link", "add", "br0", "type", "bridge", namespace=self.server)
            _ip("addr", "add", f"{SERVER_ADDRESS}/{_PREFIX_LENGTH}", "dev", "br0", namespace=self.server)
            _ip("link", "set", "br0", "up", namespace=self.server)
            for host, namespace in self.hosts.items():
                self._add_host(host, namespace)
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _add_namespace(self, namespace: str) -> None:
        subprocess.run(["ip", "netns", "add", namespace], check=True, capture_output=True, timeout=10)
        self._made.append(namespace)
        _ip("link", "set", "lo", "up", namespace=namespace)

    def _add_host(self, host: str, namespace: str) -> None:
        self._add_namespace(namespace)
        # Both ends are created inside their namespaces: no name is ever taken in the machine's own.
        _ip("link", "add", "eth0", "netns", namespace, "type", "veth", "peer", "name", f"to-{host}",
            "netns", self.server, namespace=self.server)  # fmt: skip
        _ip("addr", "add", f"{self.address(host)}/{_PREFIX_LENGTH}", "dev", "eth0", namespace=namespace)
        _ip("link", "set", "eth0", "up", namespace=namespace)
        _ip("link", "set", f"to-{host}", "master", "br0", namespace=self.server)
        _ip("link", "set", f"to-{host}", "up", namespace=self.server)

    def cut(self, host: str) -> None:
        """The host's link to the bridge goes down: every packet between it and the servers is lost."""
        _ip("link", "set", f"to-{host}", "down", namespace=self.server)

    def restore(self, host: str) -> None:
        _ip("link", "set", f"to-{host}", "up", namespace=self.server)

    def remove(self) -> None:
        """Delete every namespace made (their links go with them); safe to call twice."""
        while self._made:
            namespace = self._made.pop()
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
