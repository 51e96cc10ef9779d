"""The /app routes of the OpenAPI document, made concrete for a request."""

from __future__ import annotations

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
