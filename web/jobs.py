"""The routes of one user's or one job's sync: status, manual sync, cancel, retry; and their contract.

Thin responders over services. Errors of the services map to HTTP in web.app
(UnknownUserError/UnknownJobError → 404, JobStateError → 409); values are validated by web.validation
before any query. Every responder here is marked ``@seller_may_call``: it serves seller-scoped tokens
too, and checks whose objects it touches (web.principals). Each resource declares its operations
(``openapi``) and :data:`OPENAPI` its paths and the job's schemas, which web.openapi merges.
"""

from __future__ import annotations

from typing import Any

import falcon

from models.jobs import ACCOUNT_RESULT_STATUSES, JOB_STATUSES, LANES, TRIGGERS
from services.jobs.json_shape import cancel_json, enqueued_json, job_json, user_status_json
from services.jobs.producer import JobProducer
from services.jobs.queries import JobQueries
from services.platform.errors import UnknownJobError, UnknownUserError
from web import validation
from web.apidoc import (
    COUNT,
    TIMESTAMP,
    USER_ID_PARAM,
    Part,
    errors,
    json_body,
    json_response,
    limit,
    nullable,
    object_of,
    path_param,
    ref,
)
from web.principals import check_visible, principal, seller_may_call

#: The prefix of the job-status API and its dashboard.
BASE = "/app/job-status"

JOB_ID_PARAM = path_param("jobId", pattern=validation.JOB_ID_PATTERN)


def _unknown_user(user_id: str) -> UnknownUserError:
    return UnknownUserError(f"No user has the id {user_id!r}.")


def _unknown_job(job_id: str) -> UnknownJobError:
    return UnknownJobError(f"No job has the id {job_id!r}.")


class UserStatus:
    query_params = ("limit",)
    openapi = {
        "get": {
            "operationId": "getUserStatus",
            "summary": "A user's last sync and newest jobs.",
            "parameters": [USER_ID_PARAM, limit(10)],
            "responses": {
                "200": json_response(ref("UserStatus"), "The user's jobs, newest first."),
                **errors(400, 404),
            },
        }
    }

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    @seller_may_call
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        user_id = validation.user_id(user_id)
        check_visible(req, user_id, lambda: _unknown_user(user_id))
        user = self._queries.get_user(user_id)
        if user is None:
            raise _unknown_user(user_id)
        jobs = self._queries.jobs_for_user(user.user_id, validation.limit(req, 10))
        resp.media = user_status_json(user, jobs)


class Job:
    query_params = ()
    openapi = {
        "get": {
            "operationId": "getJob",
            "summary": "One job.",
            "parameters": [JOB_ID_PARAM],
            "responses": {"200": json_response(ref("Job"), "The job."), **errors(400, 404)},
        }
    }

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    @seller_may_call
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = self._queries.get_job(validation.job_id(job_id))
        if job is None:
            raise _unknown_job(job_id)
        check_visible(req, job.user_id, lambda: _unknown_job(job_id))
        resp.media = job_json(job)


class JobCancel:
    """200 when the job is cancelled (now or earlier), 202 when it runs on with the cancel requested."""

    query_params = ()
    openapi = {
        "delete": {
            "operationId": "cancelJob",
            "summary": "Cancel: a queued job never runs, a running one stops before its next account.",
            "description": (
                "Idempotent: cancelling again changes nothing and answers `repeated: true`. A running"
                " job that is on its last account completes anyway; its `cancelRequestedAt` stays."
            ),
            "parameters": [JOB_ID_PARAM],
            "responses": {
                "200": json_response(ref("JobCancel"), "The job is cancelled (`cancel: done`)."),
                "202": json_response(
                    ref("JobCancel"),
                    "The job is running: the cancel is requested, not done (`cancel: requested`).",
                ),
                **errors(400, 404, 409),
            },
        }
    }

    def __init__(self, producer: JobProducer) -> None:
        self._producer = producer

    @seller_may_call
    def on_delete(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job_id = _own_job(req, self._producer, validation.job_id(job_id))
        cancellation = self._producer.remove_job(job_id)
        resp.status = falcon.HTTP_200 if cancellation.done else falcon.HTTP_202
        resp.media = cancel_json(cancellation)


class JobRetry:
    query_params = ()
    openapi = {
        "post": {
            "operationId": "retryJob",
            "summary": "Enqueue a new job for the user of a failed or cancelled job.",
            "parameters": [JOB_ID_PARAM],
            "responses": {
                "202": json_response(
                    ref("Job"), "The new job (or the user's job already queued or running)."
                ),
                **errors(400, 404, 409),
            },
        }
    }

    def __init__(self, producer: JobProducer) -> None:
        self._producer = producer

    @seller_may_call
    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        enqueued = self._producer.retry_job(_own_job(req, self._producer, validation.job_id(job_id)))
        resp.status = falcon.HTTP_202
        resp.media = job_json(self._producer.records.get(enqueued.job_id))


def _own_job(req: falcon.Request, producer: JobProducer, job_id: str) -> str:
    """``job_id``, once the caller may see its job (a job it may not see is as unknown as none)."""
    if not principal(req).is_operator:
        try:
            owner = producer.records.get(job_id).user_id
        except UnknownJobError:
            raise _unknown_job(job_id) from None
        check_visible(req, owner, lambda: _unknown_job(job_id))
    return job_id


class Sync:
    """Manual enqueue: every id must name a user (else 404 naming them, nothing enqueued)."""

    query_params = ()
    body_methods = ("POST",)
    openapi = {
        "post": {
            "operationId": "syncUsers",
            "summary": "Enqueue each user's sync (a user's queued or running job is returned instead).",
            "requestBody": json_body("SyncRequest"),
            "responses": {
                "202": json_response(ref("SyncResponse"), "One entry per distinct user id, in order."),
                **errors(400, 404, 409, 413, 415),
            },
        }
    }

    def __init__(self, queries: JobQueries, producer: JobProducer) -> None:
        self._queries = queries
        self._producer = producer

    @seller_may_call
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        user_ids = validation.sync_body(req.get_media())
        unknown = set(self._queries.missing_users(user_ids))
        # Another user's id is as unknown to a seller as a missing one, in the same order.
        missing = [u for u in user_ids if u in unknown or not principal(req).sees(u)]
        if missing:
            raise UnknownUserError(f"No user has the id(s) {', '.join(map(repr, missing[:10]))}.")
        results = [self._producer.enqueue_user(u, "manual") for u in user_ids]
        resp.status = falcon.HTTP_202
        resp.media = {"jobs": [enqueued_json(r) for r in results]}


# -- the schemas of a job's JSON (services.jobs.json_shape) -------------------------------------------------
_ACCOUNT = object_of(
    region=nullable({"type": "string"}),
    country=nullable({"type": "string"}),
    status={"type": "string", "enum": list(ACCOUNT_RESULT_STATUSES)},
    ordersFetched=COUNT,
    durationMs=nullable({"type": "integer"}),
    error=nullable(ref("JobError")),
    # When this job cached the account's first look (a first sync) and its full analysis.
    firstLookAt=nullable(TIMESTAMP),
    analysedAt=nullable(TIMESTAMP),
)
_JOB_PROPERTIES: dict[str, Any] = {
    "jobId": {"type": "string"},
    "userId": {"type": "string"},
    "status": {"type": "string", "enum": list(JOB_STATUSES)},
    "trigger": {"type": "string", "enum": list(TRIGGERS)},
    "lane": {"type": "string", "enum": list(LANES)},
    "promotedAt": nullable(TIMESTAMP),
    "attempts": COUNT,
    "maxAttempts": {"type": "integer", "minimum": 1},
    "quotaWaits": COUNT,
    "queuedAt": TIMESTAMP,
    "startedAt": nullable(TIMESTAMP),
    "completedAt": nullable(TIMESTAMP),
    "failedAt": nullable(TIMESTAMP),
    "cancelRequestedAt": nullable(TIMESTAMP),
    "durationMs": nullable({"type": "integer"}),
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "accountsTotal": COUNT,
    "accountsProcessed": COUNT,
    "accountsFailed": COUNT,
    "accounts": {"type": "array", "items": ref("Account")},
    "error": nullable(ref("JobError")),
    "worker": nullable({"type": "string"}),
}
_SYNCED = object_of(
    userId={"type": "string"},
    jobId={"type": "string"},
    deduplicated={"type": "boolean"},
    promoted={"type": "boolean"},
)
SCHEMAS = {
    "JobError": object_of(type={"type": "string"}, message={"type": "string"}),
    "Account": _ACCOUNT,
    "Job": object_of(**_JOB_PROPERTIES),
    # The answer to a cancel: the job, what the cancel did, and whether an earlier one already had.
    "JobCancel": object_of(
        **_JOB_PROPERTIES,
        cancel={"type": "string", "enum": ["done", "requested"]},
        repeated={"type": "boolean"},
    ),
    "UserStatus": object_of(
        userId={"type": "string"},
        lastSyncedAt=nullable(TIMESTAMP),
        latest=nullable(ref("Job")),
        jobs={"type": "array", "items": ref("Job")},
    ),
    "SyncRequest": {
        "type": "object",
        "required": ["userIds"],
        "additionalProperties": False,
        "properties": {
            "userIds": {
                "type": "array",
                "minItems": 1,
                "maxItems": validation.MAX_SYNC_USERS,
                "items": USER_ID_PARAM["schema"],
            }
        },
    },
    "SyncResponse": object_of(jobs={"type": "array", "items": _SYNCED}),
}

OPENAPI = Part(
    {
        f"{BASE}/status/user/{{userId}}": UserStatus,
        f"{BASE}/status/job/{{jobId}}": Job,
        f"{BASE}/sync": Sync,
        f"{BASE}/job/{{jobId}}": JobCancel,
        f"{BASE}/job/{{jobId}}/retry": JobRetry,
    },
    SCHEMAS,
)
