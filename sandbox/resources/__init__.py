"""Falcon resources: thin responders over ``SandboxState``, one module per API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.state import SandboxState


class StateResource:
    """A responder over the sandbox's one state (every resource is built with it)."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
