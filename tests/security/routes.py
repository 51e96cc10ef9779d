"""The /app routes of the OpenAPI document, made concrete for a request."""

from __future__ import annotations

from web.openapi import build_document

#: The /app routes that are public by design, with the reason; everything else under /app needs a token.
PUBLIC = {
    "/app/job-status/": "the dashboard page: static HTML that asks for the token",
    "/app/job-status": "redirect to the dashboard page",
    "/app/job-status/static/{file}": "the dashboard's script and stylesheet",
}

#: Values for path parameters: real enough to reach a resource.
#: A job id no record has (fixed: parallel test workers must collect the same parameters).
UNKNOWN_JOB_ID = "00000000-0000-4000-8000-000000000000"
PATH_VALUES = {"userId": "u1", "user_id": "u1", "jobId": UNKNOWN_JOB_ID, "job_id": UNKNOWN_JOB_ID}
PATH_VALUES |= {"country": "US"}


def concrete(path: str, **values: str) -> str:
    """``/app/users/{userId}`` -> ``/app/users/u1`` (``values`` override PATH_VALUES)."""
    for name, value in (PATH_VALUES | values).items():
        path = path.replace(f"{{{name}}}", value)
    assert "{" not in path, f"no test value for a parameter of {path}: add it to PATH_VALUES"
    return path


def protected_operations() -> list[tuple[str, str]]:
    """(METHOD, path template) of every /app operation of the OpenAPI document that needs a token."""
    document = build_document()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/app") and path not in PUBLIC
        for method in item
    ]
