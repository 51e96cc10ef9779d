"""Create every collection's indexes, idempotently: what the Procfile's ``release:`` step runs.

The step itself is ``python -m services.operations.release``, which reads MONGODB_URI and calls
:func:`create_indexes`.
"""

from __future__ import annotations

from models.accounts import SellerAccount, User
from models.analysis import Analysis
from models.jobs import JobStatus
from models.sales import InventoryItem, Order, SalesMetric

DOCUMENTS = (User, SellerAccount, Order, SalesMetric, InventoryItem, Analysis, JobStatus)


def create_indexes() -> list[str]:
    """Ensure the declared indexes exist; returns the names of the collections touched."""
    for document in DOCUMENTS:
        document.ensure_indexes()
    return [d._get_collection_name() for d in DOCUMENTS]


def missing_indexes() -> dict[str, list[str]]:
    """Declared indexes absent from the store, by collection (empty when the release step ran)."""
    missing: dict[str, list[str]] = {}
    for document in DOCUMENTS:
        collection = document._get_collection()
        present = {tuple(spec["key"].items()) for spec in collection.list_indexes()}
        for spec in document._meta.get("index_specs", []):
            if tuple(spec["fields"]) not in present:
                name = ",".join(field for field, _ in spec["fields"])
                missing.setdefault(collection.name, []).append(name)
    return missing
