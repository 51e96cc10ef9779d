"""Writes that must not go backwards: a time field only moves forward, in the store itself.

Two executions of one job may both reach the account's watermark or a ``last_synced_at`` (one of
them cut off from the network, then back, see services.jobs.lease). The condition is part of the
update, so whichever write lands last, the field keeps the later value: an execution that woke up
late cannot move it back to what it saw before it was cut off.
"""

from __future__ import annotations

from datetime import datetime


def moving_forward(field: str, value: datetime) -> dict:
    """The filter (MongoEngine keywords) of an update that sets ``field`` to ``value`` only if that
    moves it forward or sets it: ``{field: {$not: {$gte: value}}}``, which a missing field matches.

    One condition beside the update's own, not an ``$or``: the filter stays a plain conjunction whose
    leading field (``_id``, ``user_id``) picks the index on every server.
    """
    return {f"{field}__not__gte": value}
