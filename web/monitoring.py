"""What operators watch: the newest and the failed jobs, the queue's statistics, the overview.

Thin responders over services.jobs.queries, for operator tokens only (a seller's answers 403 in
web.auth). Each resource declares its operations (``openapi``) and :data:`OPENAPI` its paths and
schemas, which web.openapi merges.
"""

from __future__ import annotations

import falcon

from models.jobs import JOB_STATUSES, LANES
from services.jobs.json_shape import hourly_json, job_json
from services.jobs.queries import JobQueries, StatsSnapshot
from web import validation
from web.apidoc import COUNT, TIMESTAMP, Part, errors, json_response, limit, object_of, query_param, ref
from web.jobs import BASE


class Recent:
    query_params = ("limit", "status")
    openapi = {
        "get": {
            "operationId": "getRecentJobs",
            "summary": "The newest jobs, optionally of one status.",
            "parameters": [limit(50), query_param("status", type="string", enum=list(JOB_STATUSES))],
            "responses": {"200": json_response(ref("JobList"), "Newest first."), **errors(400)},
        }
    }

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        jobs = self._queries.recent(validation.limit(req, 50), validation.status(req))
        resp.media = {"jobs": [job_json(j) for j in jobs]}


class Failed:
    query_params = ("limit",)
    openapi = {
        "get": {
            "operationId": "getFailedJobs",
            "summary": "Failed jobs, the latest failure first.",
            "parameters": [limit(100)],
            "responses": {"200": json_response(ref("JobList"), "Failed jobs only."), **errors(400)},
        }
    }

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        jobs = self._queries.failed(validation.limit(req, 100))
        resp.media = {"jobs": [job_json(j) for j in jobs]}


class QueueStats:
    query_params = ()
    openapi = {
        "get": {
            "operationId": "getQueueStats",
            "summary": "Counts by state, throughput, oldest waiting job, live workers.",
            "description": "A snapshot shared by the web processes, at most a few seconds old.",
            "responses": {"200": json_response(ref("QueueStats"), "The queue's statistics.")},
        }
    }

    def __init__(self, snapshot: StatsSnapshot) -> None:
        self._snapshot = snapshot

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._snapshot.get_json()


class Overview:
    """What the dashboard shows beside the queue stats: completed/failed per hour and freshness."""

    query_params = ()
    openapi = {
        "get": {
            "operationId": "getOverview",
            "summary": "Completed and failed jobs per hour over 24 h, and the users' freshness.",
            "responses": {"200": json_response(ref("Overview"), "The dashboard's summary.")},
        }
    }

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "hourly": hourly_json(self._queries.hourly()),
            "freshness": self._queries.freshness(),
        }


_COUNTS = ("waiting", "delayed", "active", "retrying", "completed", "failed", "cancelled")
SCHEMAS = {
    "JobList": object_of(jobs={"type": "array", "items": ref("Job")}),
    "QueueStats": object_of(
        queue={"type": "string"},
        counts=object_of(**dict.fromkeys(_COUNTS, COUNT)),
        throughput=object_of(
            completedLastHour=COUNT, failedLastHour=COUNT, perMinute={"type": "number", "minimum": 0}
        ),
        oldestWaitingSeconds=COUNT,
        workers=COUNT,
        # Waiting jobs by lane (services.jobs.producer): the priority lane goes ahead of the standard one.
        lanes=object_of(**{lane: object_of(queue={"type": "string"}, waiting=COUNT) for lane in LANES}),
    ),
    "Overview": object_of(
        hourly={"type": "array", "items": object_of(hour=TIMESTAMP, completed=COUNT, failed=COUNT)},
        freshness=object_of(
            syncEnabledUsers=COUNT,
            freshUsers=COUNT,
            ratio={"type": "number", "minimum": 0, "maximum": 1},
            intervalMinutes={"type": "integer", "minimum": 1},
        ),
    ),
}

OPENAPI = Part(
    {
        f"{BASE}/recent": Recent,
        f"{BASE}/failed": Failed,
        f"{BASE}/queue/stats": QueueStats,
        f"{BASE}/overview": Overview,
    },
    SCHEMAS,
)
