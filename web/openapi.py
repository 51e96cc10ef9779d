"""``/openapi.json``: the OpenAPI 3 document of every route, written by hand beside the routes.

The job-status routes are described here; a module of other routes adds its own part
(``web.onboarding.openapi_part()``: its paths and schemas), merged by :func:`build_document`.

tests/web checks it with openapi-spec-validator and drives the API from it with schemathesis.
"""

from __future__ import annotations

from typing import Any

import falcon

from models.jobs import ACCOUNT_RESULT_STATUSES, JOB_STATUSES, LANES, TRIGGERS
from services.operations.onboarding import USER_ID_PATTERN
from web.validation import JOB_ID_PATTERN, MAX_LIMIT, MAX_SYNC_USERS

BASE = "/app/job-status"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/{code}"} for code in codes}


_TIMESTAMP = {"type": "string", "format": "date-time"}
_ERROR = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}
_JOB_ERROR = {
    "type": "object",
    "required": ["type", "message"],
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
}
_ACCOUNT = {
    "type": "object",
    "required": [
        "region",
        "country",
        "status",
        "ordersFetched",
        "durationMs",
        "error",
        "firstLookAt",
        "analysedAt",
    ],
    "properties": {
        "region": _nullable({"type": "string"}),
        "country": _nullable({"type": "string"}),
        "status": {"type": "string", "enum": list(ACCOUNT_RESULT_STATUSES)},
        "ordersFetched": {"type": "integer", "minimum": 0},
        "durationMs": _nullable({"type": "integer"}),
        "error": _nullable(ref("JobError")),
        # When this job cached the account's first look (a first sync) and its full analysis.
        "firstLookAt": _nullable(_TIMESTAMP),
        "analysedAt": _nullable(_TIMESTAMP),
    },
}
_JOB_PROPERTIES: dict[str, Any] = {
    "jobId": {"type": "string"},
    "userId": {"type": "string"},
    "status": {"type": "string", "enum": list(JOB_STATUSES)},
    "trigger": {"type": "string", "enum": list(TRIGGERS)},
    "lane": {"type": "string", "enum": list(LANES)},
    "promotedAt": _nullable(_TIMESTAMP),
    "attempts": {"type": "integer", "minimum": 0},
    "maxAttempts": {"type": "integer", "minimum": 1},
    "quotaWaits": {"type": "integer", "minimum": 0},
    "queuedAt": _TIMESTAMP,
    "startedAt": _nullable(_TIMESTAMP),
    "completedAt": _nullable(_TIMESTAMP),
    "failedAt": _nullable(_TIMESTAMP),
    "cancelRequestedAt": _nullable(_TIMESTAMP),
    "durationMs": _nullable({"type": "integer"}),
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "accountsTotal": {"type": "integer", "minimum": 0},
    "accountsProcessed": {"type": "integer", "minimum": 0},
    "accountsFailed": {"type": "integer", "minimum": 0},
    "accounts": {"type": "array", "items": ref("Account")},
    "error": _nullable(ref("JobError")),
    "worker": _nullable({"type": "string"}),
}
_JOB = {"type": "object", "required": list(_JOB_PROPERTIES), "properties": _JOB_PROPERTIES}
#: The answer to a cancel: the job, what the cancel did, and whether an earlier one already had.
_JOB_CANCEL = {
    "type": "object",
    "required": [*_JOB_PROPERTIES, "cancel", "repeated"],
    "properties": {
        **_JOB_PROPERTIES,
        "cancel": {"type": "string", "enum": ["done", "requested"]},
        "repeated": {"type": "boolean"},
    },
}
_COUNT = {"type": "integer", "minimum": 0}
_QUEUE_STATS = {
    "type": "object",
    "required": ["queue", "counts", "throughput", "oldestWaitingSeconds", "workers", "lanes"],
    "properties": {
        "queue": {"type": "string"},
        "counts": {
            "type": "object",
            "required": ["waiting", "delayed", "active", "retrying", "completed", "failed", "cancelled"],
            "properties": {
                k: _COUNT
                for k in ("waiting", "delayed", "active", "retrying", "completed", "failed", "cancelled")
            },
        },
        "throughput": {
            "type": "object",
            "required": ["completedLastHour", "failedLastHour", "perMinute"],
            "properties": {
                "completedLastHour": _COUNT,
                "failedLastHour": _COUNT,
                "perMinute": {"type": "number", "minimum": 0},
            },
        },
        "oldestWaitingSeconds": _COUNT,
        "workers": _COUNT,
        # Waiting jobs by lane (services.jobs.producer): the priority lane goes ahead of the standard one.
        "lanes": {
            "type": "object",
            "required": list(LANES),
            "properties": {
                lane: {
                    "type": "object",
                    "required": ["queue", "waiting"],
                    "properties": {"queue": {"type": "string"}, "waiting": _COUNT},
                }
                for lane in LANES
            },
        },
    },
}
_OVERVIEW = {
    "type": "object",
    "required": ["hourly", "freshness"],
    "properties": {
        "hourly": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hour", "completed", "failed"],
                "properties": {"hour": _TIMESTAMP, "completed": _COUNT, "failed": _COUNT},
            },
        },
        "freshness": {
            "type": "object",
            "required": ["syncEnabledUsers", "freshUsers", "ratio", "intervalMinutes"],
            "properties": {
                "syncEnabledUsers": _COUNT,
                "freshUsers": _COUNT,
                "ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "intervalMinutes": {"type": "integer", "minimum": 1},
            },
        },
    },
}
_HEALTH = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
            },
        },
    },
}
_JOB_LIST = {
    "type": "object",
    "required": ["jobs"],
    "properties": {"jobs": {"type": "array", "items": ref("Job")}},
}
USER_ID_PARAM = {
    "name": "userId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": USER_ID_PATTERN, "minLength": 1, "maxLength": 128},
}
_JOB_ID_PARAM = {
    "name": "jobId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": JOB_ID_PATTERN},
}


def _limit(default: int) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default},
    }


_PUBLIC: list[dict] = []  # an operation's `security: []` overrides the document's bearer requirement
#: The document's default: an operator token (API_TOKENS) only.
OPERATOR_ONLY: list[dict] = [{"operatorToken": []}]
#: Operations a seller-scoped token may call too, for its own user (web.principals): either scheme.
SELLER_OR_OPERATOR: list[dict] = [{"operatorToken": []}, {"sellerToken": []}]
_SECURITY_SCHEMES = {
    "operatorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An operator token (API_TOKENS): every route, every user.",
    },
    "sellerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "A seller-scoped JWT (HS256 with USER_TOKEN_SECRET; sub = user id; iat and exp required,"
            " exp - iat at most 1 h): only the operations that list it, for that user. Another user's"
            " objects answer 404; an operation that does not list it answers 403."
        ),
    },
}


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"{BASE}/status/user/{{userId}}": {
            "get": {
                "operationId": "getUserStatus",
                "security": SELLER_OR_OPERATOR,
                "summary": "A user's last sync and newest jobs.",
                "parameters": [USER_ID_PARAM, _limit(10)],
                "responses": {
                    "200": json_response(ref("UserStatus"), "The user's jobs, newest first."),
                    **errors(400, 401, 404),
                },
            }
        },
        f"{BASE}/status/job/{{jobId}}": {
            "get": {
                "operationId": "getJob",
                "security": SELLER_OR_OPERATOR,
                "summary": "One job.",
                "parameters": [_JOB_ID_PARAM],
                "responses": {"200": json_response(ref("Job"), "The job."), **errors(400, 401, 404)},
            }
        },
        f"{BASE}/recent": {
            "get": {
                "operationId": "getRecentJobs",
                "summary": "The newest jobs, optionally of one status.",
                "parameters": [
                    _limit(50),
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(JOB_STATUSES)},
                    },
                ],
                "responses": {
                    "200": json_response(ref("JobList"), "Newest first."),
                    **errors(400, 401, 403),
                },
            }
        },
        f"{BASE}/queue/stats": {
            "get": {
                "operationId": "getQueueStats",
                "summary": "Counts by state, throughput, oldest waiting job, live workers.",
                "description": "A snapshot shared by the web processes, at most a few seconds old.",
                "responses": {
                    "200": json_response(ref("QueueStats"), "The queue's statistics."),
                    **errors(401, 403),
                },
            }
        },
        f"{BASE}/failed": {
            "get": {
                "operationId": "getFailedJobs",
                "summary": "Failed jobs, the latest failure first.",
                "parameters": [_limit(100)],
                "responses": {
                    "200": json_response(ref("JobList"), "Failed jobs only."),
                    **errors(400, 401, 403),
                },
            }
        },
        f"{BASE}/overview": {
            "get": {
                "operationId": "getOverview",
                "summary": "Completed and failed jobs per hour over 24 h, and the users' freshness.",
                "responses": {
                    "200": json_response(ref("Overview"), "The dashboard's summary."),
                    **errors(401, 403),
                },
            }
        },
        f"{BASE}/sync": {
            "post": {
                "operationId": "syncUsers",
                "security": SELLER_OR_OPERATOR,
                "summary": "Enqueue each user's sync (a user's queued or running job is returned instead).",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("SyncRequest")}},
                },
                "responses": {
                    "202": json_response(ref("SyncResponse"), "One entry per distinct user id, in order."),
                    **errors(400, 401, 404, 409, 413, 415),
                },
            }
        },
        f"{BASE}/job/{{jobId}}": {
            "delete": {
                "operationId": "cancelJob",
                "security": SELLER_OR_OPERATOR,
                "summary": "Cancel: a queued job never runs, a running one stops before its next account.",
                "description": (
                    "Idempotent: cancelling again changes nothing and answers `repeated: true`. A running"
                    " job that is on its last account completes anyway; its `cancelRequestedAt` stays."
                ),
                "parameters": [_JOB_ID_PARAM],
                "responses": {
                    "200": json_response(ref("JobCancel"), "The job is cancelled (`cancel: done`)."),
                    "202": json_response(
                        ref("JobCancel"),
                        "The job is running: the cancel is requested, not done (`cancel: requested`).",
                    ),
                    **errors(400, 401, 404, 409),
                },
            }
        },
        f"{BASE}/job/{{jobId}}/retry": {
            "post": {
                "operationId": "retryJob",
                "security": SELLER_OR_OPERATOR,
                "summary": "Enqueue a new job for the user of a failed or cancelled job.",
                "parameters": [_JOB_ID_PARAM],
                "responses": {
                    "202": json_response(
                        ref("Job"), "The new job (or the user's job already queued or running)."
                    ),
                    **errors(400, 401, 404, 409),
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness, with the state of Redis and MongoDB.",
                "security": _PUBLIC,
                "responses": {"200": json_response(ref("Health"), "The process serves requests.")},
            }
        },
        "/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: 503 when Redis or MongoDB does not answer.",
                "security": _PUBLIC,
                "responses": {
                    "200": json_response(ref("Health"), "Ready."),
                    "503": json_response(ref("Health"), "A dependency does not answer."),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics.",
                "security": _PUBLIC,
                "responses": {
                    "200": {
                        "description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": _PUBLIC,
                "responses": {"200": json_response({"type": "object"}, "OpenAPI 3 document.")},
            }
        },
        f"{BASE}/": {
            "get": {
                "operationId": "dashboard",
                "summary": "The dashboard page (it asks for the token and sends it with its API calls).",
                "security": _PUBLIC,
                "responses": {
                    "200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}
                },
            }
        },
    }
    error_responses = {
        "400": "A parameter or the body is malformed; the description names it.",
        "401": "Missing, wrong or expired bearer token.",
        "403": "A seller-scoped token on an operation for operator tokens only.",
        "404": "No such user, account or job.",
        "409": "The job's state does not allow the operation (e.g. cancelling a completed job).",
        "413": "The body is larger than 64 KiB.",
        "415": "The body is not JSON.",
    }
    from web.onboarding import openapi_part

    onboarding_paths, onboarding_schemas = openapi_part()
    paths.update(onboarding_paths)
    responses: dict[str, Any] = {
        code: json_response(ref("Error"), text) for code, text in error_responses.items()
    }
    responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "sellersync job status API",
            "version": "1.0.0",
            "description": "Amazon seller sync jobs: status, queue, manual sync, cancel, retry; onboarding.",
        },
        "paths": paths,
        "security": OPERATOR_ONLY,
        "components": {
            "securitySchemes": _SECURITY_SCHEMES,
            "responses": responses,
            "schemas": {
                "Error": _ERROR,
                "JobError": _JOB_ERROR,
                "Account": _ACCOUNT,
                "Job": _JOB,
                "JobCancel": _JOB_CANCEL,
                "JobList": _JOB_LIST,
                "UserStatus": {
                    "type": "object",
                    "required": ["userId", "lastSyncedAt", "latest", "jobs"],
                    "properties": {
                        "userId": {"type": "string"},
                        "lastSyncedAt": _nullable(_TIMESTAMP),
                        "latest": _nullable(ref("Job")),
                        "jobs": {"type": "array", "items": ref("Job")},
                    },
                },
                "QueueStats": _QUEUE_STATS,
                "Overview": _OVERVIEW,
                "SyncRequest": {
                    "type": "object",
                    "required": ["userIds"],
                    "additionalProperties": False,
                    "properties": {
                        "userIds": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_SYNC_USERS,
                            "items": USER_ID_PARAM["schema"],
                        }
                    },
                },
                "SyncResponse": {
                    "type": "object",
                    "required": ["jobs"],
                    "properties": {
                        "jobs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["userId", "jobId", "deduplicated", "promoted"],
                                "properties": {
                                    "userId": {"type": "string"},
                                    "jobId": {"type": "string"},
                                    "deduplicated": {"type": "boolean"},
                                    "promoted": {"type": "boolean"},
                                },
                            },
                        }
                    },
                },
                "Health": _HEALTH,
                **onboarding_schemas,
            },
        },
    }


class OpenApi:
    auth_required = False

    def __init__(self) -> None:
        self._document = build_document()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._document
