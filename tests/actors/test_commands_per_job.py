"""What one job costs the stores: the MongoDB commands of one synced account, by command, and the
MongoDB and Redis commands of one account's first sync, in all.

Every command is counted (pymongo command monitoring) from the enqueue to the finished record, on
the real topology: the producer, a real RedisBroker and dramatiq.Worker, the SP-API client and the
sandbox. Each kind of command has a budget, today's count: a change that adds a round trip fails
here and names it; a change that removes one lowers its budget (``bench.cost`` gives the same
counts for many jobs, with the Redis side).
"""

from __future__ import annotations

import services.platform.worker_metrics as worker_metrics
from bench.common import SMALL_PROFILE
from services.jobs.producer import PRIORITY_QUEUE_NAME
from tests.support import finished, wait_for

#: MongoDB commands of one job for a user with one account (an hourly sync: a first sync adds its
#: first look and the per-SKU velocity), by ``"<command> <collection>"``: 8 of bookkeeping, at most 9
#: of synced data (4 when nothing changed). Lower a budget when a change removes a round trip; never
#: raise one without saying why in the commit.
BUDGET = {
    # the bookkeeping
    "find users": 1,  # the producer's known-user check (the job reads the user only when it has no
    # account, or when its last write finds no user; a second account's check reads it too)
    "find seller_accounts": 1,
    "insert job_statuses": 1,
    "update job_statuses": 4,  # start (not read back), plan, the account's result, finish
    "update seller_accounts": 1,  # the orders watermark and last_synced_at, in one write
    "update users": 1,  # last_synced_at
    # the synced data: fetched (orders, metrics, inventory), written where it changed, then analysed
    # from what was fetched
    "update orders": 1,  # none when no order changed since the watermark
    "find sales_metrics": 1,  # the stored days, to write only those that changed
    "update sales_metrics": 1,  # none when no day changed
    "find inventory": 1,  # the stored items: the changes, the SKUs gone, the velocity, the analysis
    "update inventory": 1,  # none when no SKU changed and no velocity is a day old
    "delete inventory": 1,  # none when no SKU is gone
    "find orders": 1,  # the order statuses of the cancellation rate: the one input not just fetched
    "update analyses": 1,
}


def test_a_one_account_job_stays_within_its_mongodb_commands(
    mongo_commands, broker, worker, make_user, producer
):
    # Given a user with one seller account, synced once (what follows is an hourly sync, the steady state)
    make_user("u-cost", [("US", "cost-us")])
    first = producer.enqueue_users(["u-cost"], "schedule")[0]
    wait_for(lambda: finished(first.job_id), timeout=60)
    # (and its hold on the user released: the worker frees it just after the record's end, and an
    # enqueue in between would read the record and the user to find the hold stale)
    wait_for(lambda: producer.active.current("u-cost") is None, timeout=10)
    mongo_commands.counts.clear()

    # When it is enqueued and a worker syncs it (the test's own polling is not counted)
    enqueued = producer.enqueue_users(["u-cost"], "manual")[0]
    mongo_commands.main_thread_counts = False
    wait_for(lambda: finished(enqueued.job_id), timeout=60)

    # Then the job completed, with no kind of command over its budget
    from models import JobStatus

    assert JobStatus.objects.get(job_id=enqueued.job_id).status == "completed"
    counts = dict(mongo_commands.counts)
    over = {
        name: (count, BUDGET.get(name, 0)) for name, count in counts.items() if count > BUDGET.get(name, 0)
    }
    assert over == {}, f"over budget (count, budget): {over}; all commands: {counts}"
    assert sum(counts.values()) <= sum(BUDGET.values())


#: Upper bounds for one first sync of one account (~5 SP-API calls, what ``bench.cost`` measures),
#: from the enqueue to the finished record: every MongoDB command (all threads), and every Redis
#: command but the broker's idle polling (see ``_redis_commands_of_the_job``). Measured on this code;
#: lower them when a change removes a round trip, never raise them without saying why in the commit.
#: MongoDB: 20 (30 before the analysis used what was just fetched, the start was no longer read back,
#: the watermark went with last_synced_at and the plan with the first look; then +1 when metrics and
#: inventory began to be written only where they changed: two reads of the stored rows, and no
#: clean-up delete unless a SKU is gone); then 15 (a first sync reads no stored metrics, items or
#: order statuses: it has just fetched them all; the last account's result goes with the finish):
#: with the insert and the known-user check of a single enqueue, and the account's
#: first_analysis_at, written once.
FIRST_SYNC_MONGODB_COMMANDS = 15
#: Redis: 82 since the analysis moves forward in the cache too (each of the first sync's two cache
#: writes is a script, GET + SET inside, where it was one SET: the same round trips, 4 commands more);
#: 71 since the progress and done-set pipelines are sent without MULTI/EXEC; 59 since the lease is
#: taken with two commands where it took three, and the metrics are the process's, sent once an
#: interval (services.platform.worker_metrics), not the job's; 57 since a first look marks its steps
#: done in one write; 47 since a quota bucket is one string (GET + SET in the script, on the caller's
#: clock, where TIME, HMGET, HSET and EXPIRE were four).
FIRST_SYNC_REDIS_COMMANDS = 47
#: Redis slack: a broker maintenance pass (Dramatiq's ``maintenance_chance`` per fetch) can run inside
#: a fetch of the job's own message and add its few commands; nothing else in the count is timed.
REDIS_NOISE = 1


def _commandstats(client) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def _redis_commands_of_the_job(before: dict[str, int], after: dict[str, int]) -> int:
    """The Redis commands between two ``INFO commandstats`` readings, less those that depend on time
    rather than on the job: each consumer's idle fetch (the dispatch script's EVALSHA, its heartbeat
    ZADD and an empty LPOP), the worker's presence (ZADD + ZREMRANGEBYSCORE every 10 s) and the lease
    renewer's round (EVALSHA + GET + PEXPIRE per lease, every quarter lease)."""
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    # Not the job's: the test's own reading and waiting (INFO, HEXISTS), a new connection's set-up
    # (HELLO, CLIENT, PING) and script loads, which depend on what ran in this process before.
    for name in ("info", "hexists", "hello", "client", "ping", "script"):
        delta.pop(name, None)
    presence = delta.get("zremrangebyscore", 0)
    fetches = delta.get("zadd", 0) - presence  # one heartbeat ZADD per dispatch script call
    renewals = delta.get("pexpire", 0)
    idle = 2 * presence + 2 * fetches + delta.get("lpop", 0) + 3 * renewals
    # The job's own fetch and ack are dispatch calls too: counted as idle above, whatever their count.
    return sum(delta.values()) - idle


def test_a_first_sync_of_one_account_stays_within_its_commands(
    mongo_commands, broker, worker, make_user, producer, redis_client, sandbox, settings, monkeypatch
):
    # Given a user with one small seller account (bench.cost's: 20 orders, 2 SKUs, ~5 SP-API calls),
    # never synced (make_user's own commands are not counted), and a worker process that sends its
    # metrics once a minute (the process's round trip, not the job's: nothing pending before)
    sandbox.state.set_profile("first-us", dict(SMALL_PROFILE))
    make_user("u-first", [("US", "first-us")])
    worker_metrics.flush_all()
    monkeypatch.setattr(worker_metrics, "FLUSH_SECONDS", 60.0)
    mongo_commands.counts.clear()
    before = _commandstats(redis_client)

    # When the user is enqueued and a worker syncs it (the test's polling is not counted)
    enqueued = producer.enqueue_users(["u-first"], "manual")[0]
    mongo_commands.main_thread_counts = False
    wait_for(lambda: finished(enqueued.job_id), timeout=60)
    # the record is finished before the claim and the lease are released and the message acked
    messages = f"{settings.redis_namespace}:{PRIORITY_QUEUE_NAME}.msgs"
    wait_for(lambda: not redis_client.hexists(messages, enqueued.job_id), timeout=10)
    after = _commandstats(redis_client)

    # Then the job completed within its bounds
    from models import JobStatus

    assert JobStatus.objects.get(job_id=enqueued.job_id).status == "completed"
    mongodb = dict(mongo_commands.counts)
    assert sum(mongodb.values()) <= FIRST_SYNC_MONGODB_COMMANDS, f"MongoDB commands: {mongodb}"
    redis_commands = _redis_commands_of_the_job(before, after)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    assert redis_commands <= FIRST_SYNC_REDIS_COMMANDS + REDIS_NOISE, f"{redis_commands}: {delta}"
