"""Request values checked before they reach a query: a malformed one is a 400 naming the parameter.

Only strings of a known shape and bounded integers pass, so nothing a client sends can become a
MongoDB operator (a dict or list in place of an id) or an unbounded scan.
"""

from __future__ import annotations

import re
from typing import Any

import falcon

from models.jobs import JOB_STATUSES

#: Job ids are Dramatiq message ids: UUIDs.
JOB_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: User ids are the product's own: 1-128 printable characters (no control characters, no slash).
USER_ID_PATTERN = r"^[^\x00-\x1f\x7f/]{1,128}$"
#: The most ids one sync request may name, and the largest page of any list.
MAX_SYNC_USERS = 1000
MAX_LIMIT = 1000

_JOB_ID_RE = re.compile(JOB_ID_PATTERN)
_USER_ID_RE = re.compile(USER_ID_PATTERN)


def job_id(value: str) -> str:
    if not _JOB_ID_RE.match(value):
        raise falcon.HTTPInvalidParam("A job id is a UUID.", "jobId")
    return value.lower()


def user_id(value: str, name: str = "userId") -> str:
    if not isinstance(value, str) or not _USER_ID_RE.match(value):
        raise falcon.HTTPInvalidParam("A user id is 1-128 printable characters without '/'.", name)
    return value


def limit(req: falcon.Request, default: int) -> int:
    value = req.get_param_as_int("limit", min_value=1, max_value=MAX_LIMIT)
    return default if value is None else value


def status(req: falcon.Request) -> str | None:
    value = req.get_param("status")
    if value is None:
        return None
    if value not in JOB_STATUSES:
        raise falcon.HTTPInvalidParam(f"The status must be one of {', '.join(JOB_STATUSES)}.", "status")
    return value


def sync_body(body: Any) -> list[str]:
    """``{"userIds": [...]}``: 1-1000 user ids, strings only; duplicates are dropped, order kept."""
    if not isinstance(body, dict) or "userIds" not in body:
        raise falcon.HTTPMissingParam("userIds")
    ids = body["userIds"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_SYNC_USERS:
        raise falcon.HTTPInvalidParam(f"A list of 1 to {MAX_SYNC_USERS} user ids is expected.", "userIds")
    for index, value in enumerate(ids):
        user_id(value, f"userIds[{index}]")
    return list(dict.fromkeys(ids))


class KnownParams:
    """Middleware: a query parameter the resource does not declare (``query_params``) is a 400.

    A typo such as ``?limt=5`` is refused by name instead of silently ignored.
    """

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        allowed = getattr(resource, "query_params", None)
        if allowed is None:
            return
        for name in req.params:
            if name not in allowed:
                raise falcon.HTTPInvalidParam("This route has no such parameter.", name)
