"""A broker module for ``dramatiq tests.support.crash_worker``: the real actors, plus the crash test's user.

mongomock lives in one process, so a worker subprocess seeds the same user the test seeded (with a
real MONGODB_URI the upserts find the test's documents and change nothing).
"""

import actors  # noqa: F401  (builds the broker from the environment and declares the actors)
from services.accounts import connect_account, create_user
from services.demo import sandbox_token

CRASH_USER = "u-crash"
#: Processed in this order (region, country): DE first, then US.
CRASH_ACCOUNTS = (("DE", "crash-de"), ("US", "crash-us"))

create_user(CRASH_USER)
for country, seller in CRASH_ACCOUNTS:
    connect_account(CRASH_USER, country, sandbox_token(seller), seller_id=seller)
