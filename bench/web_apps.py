"""The two WSGI apps that bench.web serves with one gunicorn configuration: ``bare_app()``, the
baselines (``GET /hello``, a constant; ``GET /job/{job_id}``, the status-by-id route's ``find_one``
on the same server, without ours), and ``sellersync_app()``, the real app of ``web.app``.
"""

from __future__ import annotations

import json

import falcon


class _Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"hello": "world"}


class _FindOne:
    """One pymongo ``find_one`` of a job record by its id: no auth, validation, documents or schema."""

    def __init__(self, collection) -> None:
        self._collection = collection

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        document = self._collection.find_one({"job_id": job_id}, {"_id": 0})
        if document is None:
            raise falcon.HTTPNotFound()
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps(document, default=str)


def bare_app() -> falcon.App:
    from models import JobStatus
    from services.platform.settings import get_settings
    from services.platform.store import connect_store

    connect_store(get_settings())  # only for the MONGODB_URI's collection: the same server and index
    app = falcon.App()
    app.add_route("/hello", _Hello())
    app.add_route("/job/{job_id}", _FindOne(JobStatus._get_collection()))
    return app


def sellersync_app() -> falcon.App:
    import actors  # the broker and the store, as web.app.get_app builds them
    from services.platform.settings import get_settings
    from web.app import create_app
    from web.config import WebConfig

    settings = get_settings()
    return create_app(WebConfig(settings=settings), producer=actors.producer(settings))
