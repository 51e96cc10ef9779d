"""SP-API clients whose every answer is followed by the job's lease check (services.jobs.lease).

An execution cut off from the network spends that time inside an SP-API call, and the first thing
it does when the answer comes is write what it got. Checking the lease right after each answer, in
memory, stops such an execution before that write without a round trip per write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from services.sync.spapi_client import AccountClients


class FencedClients:
    """``clients``, with ``check`` run after every ``call`` returns (and before its caller writes)."""

    def __init__(self, clients: AccountClients, check: Callable[[], None]) -> None:
        self._clients = clients
        self._check = check

    def __getattr__(self, name: str) -> Any:
        return getattr(self._clients, name)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        answer = self._clients.call(*args, **kwargs)
        self._check()
        return answer


def fenced(clients_for: Callable[..., Any], check: Callable[[], None]) -> Callable[..., Any]:
    """A ``clients_for`` (``services.sync.spapi_client.account_clients``'s shape) whose clients check."""

    @contextmanager
    def opened(*args: Any, **kwargs: Any) -> Iterator[FencedClients]:
        with clients_for(*args, **kwargs) as clients:
            yield FencedClients(clients, check)

    return opened
