"""A local emulator of Amazon's SP-API and LWA token endpoint.

The real python-amazon-sp-api client runs against it over HTTP on loopback: see
``sandbox.server.start_sandbox`` (tests) and ``python -m sandbox`` (demos), and
``/work/shared/spapi/REFERENCE.md`` for the facts it reproduces.
"""
