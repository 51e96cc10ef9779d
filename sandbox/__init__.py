"""A local emulator of Amazon's SP-API and LWA token endpoint.

The real python-amazon-sp-api client runs against it over HTTP on loopback. It reproduces what
Amazon documents: the endpoints and JSON shapes, the usage plans (token buckets, 429s) and errors
(README, "The SP-API sandbox").

Starting it:
- ``sandbox.server.start_sandbox(host="127.0.0.1", port=0, config=None) -> RunningSandbox``
  (``.url``, ``.port``, ``.app``, ``.state``, ``.stop()``, a context manager), for tests and dev mode;
- ``python -m sandbox --port 8811 [--host 127.0.0.1] [--time-scale 60]`` to serve it alone;
- ``sandbox.app.create_app(config) -> falcon.App`` for in-process use (``falcon.testing``).

Sellers: refresh token ``Atzr|sandbox-<seller>`` with app id ``sandbox-app`` and secret
``sandbox-secret``. Data is synthetic and deterministic per seller (``sandbox.sellers``), sized by
a profile, or hand-made (``sandbox.custom``).

Routes: ``POST /auth/o2/token``; ``GET /orders/v0/orders``,
``/orders/v0/orders/{orderId}/orderItems``, ``/sales/v1/orderMetrics``,
``/fba/inventory/v1/summaries``; admin (no auth): ``GET /_sandbox/stats``,
``POST /_sandbox/reset``, ``GET|PUT /_sandbox/sellers/{seller}/faults`` (``sandbox.faults``),
``GET|PUT /_sandbox/sellers/{seller}/profile`` (``sandbox.store.parse_profile``),
``PUT /_sandbox/sellers/{seller}/data`` (``sandbox.custom``).
"""
