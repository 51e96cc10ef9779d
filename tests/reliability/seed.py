"""Create the reliability scenarios' users in the store of MONGODB_URI (a subprocess of a test whose
own process is connected to another store): ``python -m tests.reliability.seed PREFIX COUNT``.

Users and accounts are those of ``support.make_users``; the test sets their sellers' sandbox data.
"""

from __future__ import annotations

import sys

from services.operations.accounts import connect_account, create_user
from services.operations.demo import sandbox_token
from services.platform.settings import get_settings
from services.platform.store import connect_store
from tests.reliability.support import countries_of, seller_name


def main(prefix: str, count: int) -> int:
    settings = get_settings()
    connect_store(settings)
    for index in range(count):
        user_id = f"{prefix}{index:04d}"
        create_user(user_id)
        for country in countries_of(index):
            seller = seller_name(user_id, country)
            connect_account(user_id, country, sandbox_token(seller), seller_id=seller, settings=settings)
    print(f"seeded {count} users")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
