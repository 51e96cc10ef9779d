"""Falcon resources: thin responders over ``SandboxState``, one module per API."""
