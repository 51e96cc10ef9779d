"""Where a document is stored, and which indexes it declares.

Every document's indexes are created by the release step (``models.migrate.create_indexes``), never
by MongoEngine on the document's first use.
"""

from __future__ import annotations

from typing import Any


def stored_in(collection: str, *indexes: dict[str, Any]) -> dict[str, Any]:
    """A document's ``meta``: its ``collection`` and ``indexes``, and no index made on first use."""
    return {"collection": collection, "auto_create_index": False, "indexes": list(indexes)}
