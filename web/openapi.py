"""``/openapi.json``: the OpenAPI 3 document, merged from the parts the resource modules declare.

Each resource module declares its operations beside its responders and gathers them, with its
schemas, into an ``OPENAPI`` part (web.apidoc); :func:`build_document` merges the parts into the
document's frame. A new route brings its own part; tests/web checks that every route is documented,
validates the document with openapi-spec-validator and drives the API from it with schemathesis.
"""

from __future__ import annotations

from typing import Any

import falcon

from web import dashboard, health, jobs, metrics, monitoring, onboarding
from web.apidoc import ERROR, ERROR_RESPONSES, OPERATOR_ONLY, SECURITY_SCHEMES, Part, json_response, ref

INFO = {
    "title": "sellersync job status API",
    "version": "1.0.0",
    "description": "Amazon seller sync jobs: status, queue, manual sync, cancel, retry; onboarding.",
}


class OpenApi:
    auth_required = False
    openapi = {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": {"200": json_response({"type": "object"}, "OpenAPI 3 document.")},
        }
    }

    def __init__(self) -> None:
        self._document = build_document()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._document


OPENAPI = Part({"/openapi.json": OpenApi})


def build_document() -> dict[str, Any]:
    parts = [jobs, monitoring, onboarding, health, metrics, dashboard]
    paths, schemas = merge([*(module.OPENAPI for module in parts), OPENAPI])
    return {
        "openapi": "3.0.3",
        "info": INFO,
        "paths": paths,
        "security": OPERATOR_ONLY,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "responses": _error_responses(),
            "schemas": {"Error": ERROR, **schemas},
        },
    }


def merge(parts: list[Part]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts' paths and schemas, together; a path or a schema declared twice is a mistake."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for part in parts:
        for merged, new in ((paths, part.paths), (schemas, part.schemas)):
            twice = merged.keys() & new.keys()
            if twice:
                raise ValueError(
                    f"Declared by two parts of the OpenAPI document: {', '.join(sorted(twice))}."
                )
            merged.update(new)
    return paths, schemas


def _error_responses() -> dict[str, Any]:
    responses = {code: json_response(ref("Error"), text) for code, text in ERROR_RESPONSES.items()}
    responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}
    return responses
