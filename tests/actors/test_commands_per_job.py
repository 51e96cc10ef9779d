"""What one job costs the document store: the MongoDB commands of one synced account, by command.

Every command is counted (pymongo command monitoring) from the enqueue to the finished record, on
the real topology: the producer, a real RedisBroker and dramatiq.Worker, the SP-API client and the
sandbox. Each kind of command has a budget, today's count: a change that adds a round trip fails
here and names it; a change that removes one lowers its budget (``bench.cost`` gives the same
counts for many jobs, with the Redis side).
"""

from __future__ import annotations

import pytest

from bench.cost import MongoCounter
from models.connection import connect, disconnect
from tests.support import finished, wait_for

#: MongoDB commands of one job for a user with one account (an hourly sync: a first sync adds its
#: first look and the per-SKU velocity), by ``"<command> <collection>"``: 13 of bookkeeping, at most 10
#: of synced data. Lower a budget when a change removes a round trip; never raise one without saying
#: why in the commit.
BUDGET = {
    # the bookkeeping
    "find users": 2,  # the producer's known-user check, the job's read of the user (a second account's
    # check before it adds one; the first account is checked by that read)
    "find seller_accounts": 1,
    "insert job_statuses": 1,
    "update job_statuses": 4,  # start, plan, the account's result, finish
    "find job_statuses": 1,  # the record after start (the cancel flag is read before a second account)
    "update seller_accounts": 2,  # the orders watermark, the account's last_synced_at
    "update users": 1,  # last_synced_at
    # the synced data: fetched (orders, metrics, inventory), then analysed
    "update orders": 1,  # none when no order changed since the watermark
    "update sales_metrics": 1,
    "update inventory": 1,
    "delete inventory": 1,
    "find orders": 1,
    "find sales_metrics": 1,
    "find inventory": 2,
    "update analyses": 1,
}


@pytest.fixture
def counting(settings):
    """bench.cost's counter (the benchmark and this budget count alike), counting every thread's
    commands until the test turns the main thread's (its own polling) off."""
    listener = MongoCounter()
    listener.enabled = listener.main_thread_counts = True
    disconnect()
    connect(settings.mongodb_uri, event_listeners=[listener])
    yield listener
    disconnect()
    connect(settings.mongodb_uri)


def test_a_one_account_job_stays_within_its_mongodb_commands(counting, broker, worker, make_user, producer):
    # Given a user with one seller account, synced once (what follows is an hourly sync, the steady state)
    make_user("u-cost", [("US", "cost-us")])
    first = producer.enqueue_users(["u-cost"], "schedule")[0]
    wait_for(lambda: finished(first.job_id), timeout=60)
    counting.counts.clear()

    # When it is enqueued and a worker syncs it (the test's own polling is not counted)
    enqueued = producer.enqueue_users(["u-cost"], "manual")[0]
    counting.main_thread_counts = False
    wait_for(lambda: finished(enqueued.job_id), timeout=60)

    # Then the job completed, with no kind of command over its budget
    from models import JobStatus

    assert JobStatus.objects.get(job_id=enqueued.job_id).status == "completed"
    counts = dict(counting.counts)
    over = {
        name: (count, BUDGET.get(name, 0)) for name, count in counts.items() if count > BUDGET.get(name, 0)
    }
    assert over == {}, f"over budget (count, budget): {over}; all commands: {counts}"
    assert sum(counts.values()) <= sum(BUDGET.values())
