"""The two WSGI apps that bench.web serves with one gunicorn configuration.

- ``hello_app()``: a bare Falcon app with one JSON endpoint, the baseline.
- ``sellersync_app()``: the real app of ``web.app`` (auth, validation, services, the real Redis and
  the document server), with the default max age of the queue-stats snapshot, so its recomputes
  are part of what is timed.
"""

from __future__ import annotations

import falcon


class _Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"hello": "world"}


def hello_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/hello", _Hello())
    return app


def sellersync_app() -> falcon.App:
    import actors  # noqa: F401  (the broker, the store and the job queue, as web.app.get_app does)
    from services.settings import get_settings
    from web.app import create_app
    from web.config import WebConfig

    return create_app(WebConfig(settings=get_settings()))
