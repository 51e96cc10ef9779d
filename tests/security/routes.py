"""The /app routes of the OpenAPI document, made concrete for a request."""

from __future__ import annotations

import uuid

#: Values for path parameters: real enough to reach a resource.
PATH_VALUES = {"userId": "u1", "user_id": "u1", "jobId": str(uuid.uuid4()), "job_id": str(uuid.uuid4())}
PATH_VALUES |= {"country": "US"}


def concrete(path: str, **values: str) -> str:
    """``/app/users/{userId}`` -> ``/app/users/u1`` (``values`` override PATH_VALUES)."""
    for name, value in (PATH_VALUES | values).items():
        path = path.replace(f"{{{name}}}", value)
    assert "{" not in path, f"no test value for a parameter of {path}: add it to PATH_VALUES"
    return path
