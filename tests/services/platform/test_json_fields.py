"""Our JSON keys are the attributes' names in camelCase, in the order asked."""

from __future__ import annotations

from types import SimpleNamespace

from services.platform.json_fields import camel_case, fields_json


def test_snake_case_names_become_camel_case():
    assert [camel_case(n) for n in ("status", "user_id", "cancel_requested_at")] == [
        "status",
        "userId",
        "cancelRequestedAt",
    ]


def test_the_fields_keep_their_values_and_the_order_asked():
    source = SimpleNamespace(job_id="j1", user_id="u1", progress=None)
    assert list(fields_json(source, "user_id", "job_id", "progress").items()) == [
        ("userId", "u1"),
        ("jobId", "j1"),
        ("progress", None),
    ]
