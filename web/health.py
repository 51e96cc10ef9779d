"""Liveness and readiness, open to probes without a token.

``/health`` answers 200 while the process serves requests, and reports its dependencies; ``/ready``
answers 503 when Redis or MongoDB does not answer, so a load balancer stops routing to the process
without the platform restarting it (a restart would not bring a database back). Failures are named by
exception type only: these routes are public.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import falcon
import pymongo
import redis

from models import JobStatus
from web.apidoc import Part, json_response, object_of, ref


def redis_check(client: redis.Redis) -> Callable[[], None]:
    def check() -> None:
        client.ping()

    return check


#: Seconds a readiness probe waits for MongoDB: without a bound, pymongo waits 30 s for a server, and
#: a probe (and the gunicorn thread serving it) would hang while the store is down.
MONGODB_CHECK_SECONDS = 1.0


def mongodb_check() -> None:
    with pymongo.timeout(MONGODB_CHECK_SECONDS):
        JobStatus._get_db().command("ping")


def run_checks(checks: Mapping[str, Callable[[], None]]) -> dict[str, dict]:
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = {"ok": True}
        except Exception as exc:  # any failure of a dependency is reported, never raised
            results[name] = {"ok": False, "error": type(exc).__name__}
    return results


class Health:
    auth_required = False
    openapi = {
        "get": {
            "operationId": "health",
            "summary": "Liveness, with the state of Redis and MongoDB.",
            "responses": {"200": json_response(ref("Health"), "The process serves requests.")},
        }
    }

    def __init__(self, checks: Mapping[str, Callable[[], None]]) -> None:
        self._checks = checks

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        results = run_checks(self._checks)
        ok = all(r["ok"] for r in results.values())
        resp.media = {"status": "ok" if ok else "degraded", "checks": results}


class Ready(Health):
    openapi = {
        "get": {
            "operationId": "ready",
            "summary": "Readiness: 503 when Redis or MongoDB does not answer.",
            "responses": {
                "200": json_response(ref("Health"), "Ready."),
                "503": json_response(ref("Health"), "A dependency does not answer."),
            },
        }
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        results = run_checks(self._checks)
        ok = all(r["ok"] for r in results.values())
        resp.status = falcon.HTTP_200 if ok else falcon.HTTP_503
        resp.media = {"status": "ready" if ok else "unavailable", "checks": results}


_CHECK = {
    "type": "object",
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
}
OPENAPI = Part(
    {"/health": Health, "/ready": Ready},
    schemas={
        "Health": object_of(
            status={"type": "string"}, checks={"type": "object", "additionalProperties": _CHECK}
        )
    },
)
