"""The Procfile's ``release:`` step, run once per deploy before the new processes start.

    python -m services.operations.release

It creates every collection's declared indexes, idempotently. A missing setting stops it with one
line and a non-zero exit, which a PaaS takes as a failed release: the deploy does not go out.
"""

from __future__ import annotations

import sys

from models.migrate import create_indexes
from services.platform.required_settings import settings_for_process_or_exit
from services.platform.store import connect_store


def main(argv: list[str] | None = None) -> int:
    settings = settings_for_process_or_exit("release")
    connect_store(settings)
    names = create_indexes()
    print(f"Indexes ensured on {len(names)} collections: {', '.join(names)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
