"""The terms the resource modules write their part of the OpenAPI document in.

Each resource class declares its operations as data beside its responders (``openapi``, keyed by
method); each resource module names its paths' resources and its schemas in a :class:`Part`, and
web.openapi merges the parts into ``/openapi.json``. Who may call an operation is not written twice:
:func:`path_item` reads it from the resource (``auth_required``, ``@seller_may_call``), as web.auth
does, and adds the security requirement and the 401/403 answers that follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.operations.onboarding import USER_ID_PATTERN
from web.principals import is_open_to_sellers
from web.validation import MAX_LIMIT


@dataclass(frozen=True)
class Part:
    """A resource module's share of the document: its resources by path, and its schemas."""

    resources: dict[str, type]
    schemas: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> dict[str, Any]:
        return {path: path_item(resource) for path, resource in self.resources.items()}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def object_of(**properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with these properties, every one required (the shape of each JSON answer)."""
    return {"type": "object", "required": list(properties), "properties": properties}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/{code}"} for code in codes}


def json_body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema_name)}}}


def path_param(name: str, **schema: Any) -> dict[str, Any]:
    """A parameter of the path (always required), of type string unless ``schema`` says otherwise."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", **schema}}


def query_param(name: str, **schema: Any) -> dict[str, Any]:
    """An optional parameter of the query string."""
    return {"name": name, "in": "query", "required": False, "schema": schema}


def limit(default: int) -> dict[str, Any]:
    """The ``limit`` query parameter of a list, with its default page size."""
    return query_param("limit", type="integer", minimum=1, maximum=MAX_LIMIT, default=default)


TIMESTAMP = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}
USER_ID_PARAM = path_param("userId", pattern=USER_ID_PATTERN, minLength=1, maxLength=128)

#: An operation's ``security: []`` overrides the document's requirement: no token at all.
PUBLIC: list[dict] = []
#: The document's default: an operator token (API_TOKENS) only.
OPERATOR_ONLY: list[dict] = [{"operatorToken": []}]
#: Operations a seller-scoped token may call too, for its own user (web.principals): either scheme.
SELLER_OR_OPERATOR: list[dict] = [{"operatorToken": []}, {"sellerToken": []}]
SECURITY_SCHEMES = {
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
#: The answers every operation may refer to (``errors(...)``), each with the Error body.
ERROR_RESPONSES = {
    "400": "A parameter or the body is malformed; the description names it.",
    "401": "Missing, wrong or expired bearer token.",
    "403": "A seller-scoped token on an operation for operator tokens only.",
    "404": "No such user, account or job.",
    "409": "The job's state does not allow the operation (e.g. cancelling a completed job).",
    "413": "The body is larger than 64 KiB.",
    "415": "The body is not JSON.",
}
ERROR = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}


def path_item(resource: type) -> dict[str, Any]:
    """The resource's operations, each with the security requirement and refusals of its callers.

    A public resource (``auth_required = False``) needs no token; a responder marked
    ``@seller_may_call`` takes either scheme and answers 401 without one; any other takes an operator
    token only (the document's default) and answers 401 without one and 403 to a seller's.
    """
    item = {}
    for method, operation in resource.openapi.items():
        if not getattr(resource, "auth_required", True):
            item[method] = {**operation, "security": PUBLIC}
        elif is_open_to_sellers(resource, method):
            item[method] = _with_errors({**operation, "security": SELLER_OR_OPERATOR}, 401)
        else:
            item[method] = _with_errors(operation, 401, 403)
    return item


def _with_errors(operation: dict[str, Any], *codes: int) -> dict[str, Any]:
    responses = {**operation["responses"], **errors(*codes)}
    return {**operation, "responses": dict(sorted(responses.items()))}
