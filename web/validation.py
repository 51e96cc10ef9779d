"""Request values checked before they reach a query: a malformed one is a 400 naming the parameter.

Only strings of a known shape and bounded integers pass, so nothing a client sends can become a
MongoDB operator (a dict or list in place of an id) or an unbounded scan. Two middleware refuse what
no route accepts, before any resource sees it: a query parameter the route does not declare
(:class:`KnownParams`), and anything shaped like a MongoDB operator (:class:`NoOperators`): a
``status[$ne]=x`` query parameter, or a ``{"$ne": ...}`` key anywhere in a JSON body.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import falcon

from models.jobs import JOB_STATUSES
from services.operations.onboarding import check_user_id
from services.platform.errors import InvalidInputError
from web.media import takes_body

#: Job ids are Dramatiq message ids: UUIDs.
JOB_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: The most ids one sync request may name, and the largest page of any list.
MAX_SYNC_USERS = 1000
MAX_LIMIT = 1000

_JOB_ID_RE = re.compile(JOB_ID_PATTERN)


def job_id(value: str) -> str:
    if not _JOB_ID_RE.fullmatch(value):
        raise falcon.HTTPInvalidParam("A job id is a UUID.", "jobId")
    return value.lower()


def user_id(value: str, name: str = "userId") -> str:
    """The rule of services.operations.onboarding (one rule for every route and the command line)."""
    try:
        return check_user_id(value, name)
    except InvalidInputError as exc:
        raise falcon.HTTPInvalidParam(exc.message[:1].upper() + exc.message[1:] + ".", name) from None


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
    """``{"userIds": [...]}``: 1-1000 user ids, strings only; duplicates are dropped, order kept.

    Any other field is refused by name, as the document says (``additionalProperties: false``): a
    typo must not pass silently.
    """
    if not isinstance(body, dict) or "userIds" not in body:
        raise falcon.HTTPMissingParam("userIds")
    for name in body:
        if name != "userIds":
            raise falcon.HTTPInvalidParam("Unknown field; expected userIds.", str(name)[:64])
    ids = body["userIds"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_SYNC_USERS:
        raise falcon.HTTPInvalidParam(f"A list of 1 to {MAX_SYNC_USERS} user ids is expected.", "userIds")
    for index, value in enumerate(ids):
        user_id(value, f"userIds[{index}]")
    return list(dict.fromkeys(ids))


def operator_in(value: Any, field: str = "") -> tuple[str, str] | None:
    """The first ``(field, key)`` of ``value`` whose key starts with ``$``, depth first; else None.

    ``field`` is where the key sits (``userIds``, ``userIds[2]``), or the key itself at the top level.
    """
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(name, str) and name.startswith("$"):
                return (field or name, name)
            found = operator_in(item, f"{field}.{name}" if field else str(name))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = operator_in(item, f"{field}[{index}]")
            if found:
                return found
    return None


class TextTarget:
    """Middleware: a path or query string whose percent-decoded bytes are not UTF-8 is a 400.

    Falcon would turn each undecodable byte into U+FFFD, so ``/app/users/a%ff`` and ``/app/users/a%fe``
    would both name the user ``a\ufffd``: one user behind two paths. Nothing else is told apart here.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            # PEP 3333: PATH_INFO is the decoded path's bytes as latin-1; QUERY_STRING is still encoded.
            req.env.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
            unquote_to_bytes(req.env.get("QUERY_STRING", "").encode("latin-1")).decode("utf-8")
        except UnicodeError:
            raise falcon.HTTPBadRequest(
                title="Malformed request target",
                description="The path and the query string are UTF-8 text once percent-decoded.",
            ) from None


class NoOperators:
    """Middleware: a query parameter named like ``status[$ne]`` or ``$where``, or a JSON body with a
    ``$`` key at any depth, is a 400 naming the parameter or field (nothing reaches a resource).

    Parameters are plain ``name=value`` pairs in this API, so brackets and ``$`` in a name only ever
    mean an attempt at a MongoDB operator (the ``qs`` convention some frameworks turn into objects).
    """

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        if resource is None:
            return
        for name in req.params:
            if any(mark in name for mark in "$[]"):
                raise falcon.HTTPInvalidParam(
                    "Query parameters are plain name=value pairs; '$' and brackets are refused.", name
                )
        if takes_body(resource, req.method) and req.content_length:
            found = operator_in(req.get_media())
            if found:
                field, operator = found
                raise falcon.HTTPInvalidParam(
                    f"Values are plain JSON; the key {operator!r} would be a MongoDB operator.", field
                )


class KnownParams:
    """Middleware: a query parameter given twice, or one the resource does not declare
    (``query_params``), is a 400 naming it.

    A typo such as ``?limt=5`` is refused by name instead of silently ignored; so is ``?limit=5&limit=500``,
    whose winner differs between servers, proxies and frameworks.
    """

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        for name, value in req.params.items():
            if isinstance(value, list):
                raise falcon.HTTPInvalidParam("A query parameter may be given once only.", name)
        allowed = getattr(resource, "query_params", None)
        if allowed is None:
            return
        for name in req.params:
            if name not in allowed:
                raise falcon.HTTPInvalidParam("This route has no such parameter.", name)
