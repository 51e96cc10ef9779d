"""Create every collection's indexes, idempotently (the Procfile ``release:`` step).

Run as ``python -m models.migrate``.
"""

from __future__ import annotations

import logging
import sys

from models.accounts import SellerAccount, User
from models.analysis import Analysis
from models.jobs import JobStatus
from models.sales import InventoryItem, Order, SalesMetric

DOCUMENTS = (User, SellerAccount, Order, SalesMetric, InventoryItem, Analysis, JobStatus)

logger = logging.getLogger(__name__)


def create_indexes() -> list[str]:
    """Ensure the declared indexes exist; returns the names of the collections touched."""
    for document in DOCUMENTS:
        document.ensure_indexes()
    return [d._get_collection_name() for d in DOCUMENTS]


def main(argv: list[str] | None = None) -> int:
    from models.connection import connect
    from services.settings import settings_or_exit

    settings = settings_or_exit()
    store = connect(settings)
    names = create_indexes()
    print(f"Indexes ensured on {len(names)} collections ({store}): {', '.join(names)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
