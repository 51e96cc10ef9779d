"""The Falcon app: wiring only. Resources receive the services they use.

gunicorn loads ``web.app:get_app()`` (Procfile ``web:``); tests and dev mode call :func:`create_app`
with their own config and collaborators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import falcon
from prometheus_client import CollectorRegistry

from services.jobs.producer import JobProducer
from services.jobs.queries import JobQueries, StatsSnapshot
from services.platform.errors import JobStateError, UnknownJobError, UnknownUserError
from services.platform.logs import apply_level
from services.platform.redis_pool import get_redis
from services.platform.required_settings import settings_for_process_or_exit
from services.platform.settings import Settings
from web import jobs, monitoring, onboarding
from web.auth import BearerAuth
from web.config import WebConfig
from web.dashboard import DashboardPage, DashboardRedirect
from web.health import Health, Ready, mongodb_check, redis_check
from web.jobs import BASE
from web.json_body import StrictJSON
from web.media import JsonOnly
from web.methods import HeadAsGet
from web.metrics import Metrics, build_registry
from web.onboarding import USERS
from web.openapi import OpenApi
from web.security import BodyLimit, SecurityHeaders
from web.validation import KnownParams, NoOperators, TextTarget


def create_app(
    config: WebConfig | None = None,
    *,
    producer: JobProducer,
    queries: JobQueries | None = None,
    snapshot: StatsSnapshot | None = None,
    checks: Mapping[str, Callable[[], None]] | None = None,
) -> falcon.App:
    config = config or WebConfig()
    settings = config.settings
    client = get_redis(settings)
    queries = queries or JobQueries(settings)
    snapshot = snapshot or StatsSnapshot(
        settings, client, producer.get_queue_stats, max_age=config.stats_max_age_seconds
    )
    checks = checks or {"redis": redis_check(client), "mongodb": mongodb_check}

    app = falcon.App(middleware=_middleware(settings))
    # JSON is the only body the app reads (no form or multipart handler), through one strict parser.
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: StrictJSON()})
    app.add_error_handler(UnknownUserError, _status_handler(falcon.HTTPNotFound, "Unknown user"))
    app.add_error_handler(UnknownJobError, _status_handler(falcon.HTTPNotFound, "Unknown job"))
    app.add_error_handler(JobStateError, _status_handler(falcon.HTTPConflict, "Conflicting job state"))
    _add_job_routes(app, queries, producer, snapshot)
    _add_onboarding_routes(app, producer, settings)
    _add_public_routes(app, config, checks, build_registry(snapshot, queries, settings, client))
    return app


def _middleware(settings: Settings) -> list:
    # Outermost first: HEAD served as GET, headers on every response, the body cap before anything
    # reads a body, then auth before any validation (an anonymous caller learns nothing about
    # parameters or bodies).
    return [
        HeadAsGet(),
        SecurityHeaders(),
        TextTarget(),
        BodyLimit(),
        BearerAuth(settings.api_tokens, settings.user_token_secret),
        JsonOnly(),
        NoOperators(),
        KnownParams(),
    ]


def _add_job_routes(
    app: falcon.App, queries: JobQueries, producer: JobProducer, snapshot: StatsSnapshot
) -> None:
    app.add_route(f"{BASE}/status/user/{{user_id}}", jobs.UserStatus(queries))
    app.add_route(f"{BASE}/status/job/{{job_id}}", jobs.Job(queries))
    app.add_route(f"{BASE}/job/{{job_id}}", jobs.JobCancel(producer))
    app.add_route(f"{BASE}/job/{{job_id}}/retry", jobs.JobRetry(producer))
    app.add_route(f"{BASE}/sync", jobs.Sync(queries, producer))
    app.add_route(f"{BASE}/recent", monitoring.Recent(queries))
    app.add_route(f"{BASE}/failed", monitoring.Failed(queries))
    app.add_route(f"{BASE}/queue/stats", monitoring.QueueStats(snapshot))
    app.add_route(f"{BASE}/overview", monitoring.Overview(queries))


def _add_onboarding_routes(app: falcon.App, producer: JobProducer, settings: Settings) -> None:
    app.add_route(f"{USERS}/{{user_id}}", onboarding.UserResource())
    app.add_route(f"{USERS}/{{user_id}}/accounts", onboarding.AccountsResource())
    app.add_route(f"{USERS}/{{user_id}}/accounts/{{country}}", onboarding.AccountResource(producer, settings))


def _add_public_routes(
    app: falcon.App,
    config: WebConfig,
    checks: Mapping[str, Callable[[], None]],
    registry: CollectorRegistry,
) -> None:
    """The routes open without a token: probes, metrics, this API's document, the dashboard."""
    app.add_route("/health", Health(checks))
    app.add_route("/ready", Ready(checks))
    app.add_route("/metrics", Metrics(registry))
    app.add_route("/openapi.json", OpenApi())
    app.add_route(f"{BASE}/", DashboardPage(config.static_dir))
    app.add_route(BASE, DashboardRedirect())
    app.add_static_route(f"{BASE}/static", str(config.static_dir))


def _status_handler(error: type[falcon.HTTPError], title: str):
    def handle(req: falcon.Request, resp: falcon.Response, exc: Exception, params) -> None:
        raise error(title=title, description=str(exc))

    return handle


def get_app() -> falcon.App:
    """The gunicorn entry point: settings from the environment, the Dramatiq broker and the store.

    A missing or malformed setting stops the worker with one line naming it, and exit status 3,
    gunicorn's "worker failed to boot": the master halts instead of restarting the worker in a loop.
    """
    settings = settings_for_process_or_exit("web", 3)
    apply_level(settings.log_level)
    import actors  # the broker and the store, built once settings are known to be complete

    return create_app(WebConfig(settings=settings), producer=actors.producer(settings))
