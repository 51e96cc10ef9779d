"""The two WSGI apps that bench.web serves with one gunicorn configuration.

- ``hello_app()``: a bare Falcon app with one JSON endpoint, the baseline.
- ``sellersync_app()``: the real app of ``web.app`` (auth, validation, services, the real Redis).
  Without MONGODB_URI the store is mongomock, which must never be timed: the queue-stats snapshot is
  then kept for an hour, so the timed requests measure its serving path (one Redis GET) only, and
  bench.web computes it once, before timing. With MONGODB_URI the default max age applies, so the
  recomputes against MongoDB are part of what is timed.
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

    settings = get_settings()
    max_age = WebConfig.stats_max_age_seconds if settings.mongodb_uri else 3600.0
    return create_app(WebConfig(settings=settings, stats_max_age_seconds=max_age))
