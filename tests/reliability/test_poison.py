"""Poison input: messages for users whose documents are corrupt (missing fields, wrong types) or are
deleted mid-job. Each such job fails at once with a readable reason; every other job completes. A
user whose corrupt fields the sync does not read (the sync time, the schedule flag) is synced.
"""

from __future__ import annotations

import pytest

from models import JobStatus, SellerAccount, User
from services.sync.processing import done_key
from tests.reliability.support import (
    ReportRow,
    Stopwatch,
    ledger,
    make_users,
    report,
    seller_name,
    set_up_sellers,
    wait_until_finished,
    worker_command,
)
from tests.support import wait_for

pytestmark = pytest.mark.e2e


def corrupt(user_id: str, user: dict | None = None, account: dict | None = None) -> None:
    """Overwrite fields of the stored user or of its first account, as a bad migration would."""
    if user:
        User._get_collection().update_one({"user_id": user_id}, {"$set": user})
    if account:
        unset = {name: "" for name, value in account.items() if value is None}
        changes = (
            {"$set": {n: v for n, v in account.items() if v is not None}} if len(unset) < len(account) else {}
        )
        if unset:
            changes["$unset"] = unset
        SellerAccount._get_collection().update_one({"user_id": user_id}, changes)


#: user id -> (what is wrong with its documents, user fields, account fields); None unsets a field.
POISON = {
    "poison-types": (
        "user fields of the wrong types",
        {"sync_enabled": "yes", "last_synced_at": "yesterday"},
        None,
    ),
    "poison-token": ("refresh token of the wrong type", None, {"refresh_token": 12345}),
    "poison-missing": (
        "account without marketplace, region and country",
        None,
        {"marketplace_id": None, "region": None, "country": None},
    ),
    "poison-cursor": ("orders watermark that is not a date", None, {"orders_cursor": "not a date"}),
}


#: The poisoned jobs that must fail: the ones whose documents the sync needs.
FAILING = ("poison-token", "poison-missing", "poison-cursor", "poison-deleted")


@pytest.mark.timeout(180)
def test_jobs_of_corrupt_or_deleted_users_fail_with_a_readable_reason_and_harm_no_other_job(
    make_user, sandbox, topology, settings, redis_client, producer
):
    # Given healthy users, users whose stored documents are corrupt, and one with slow accounts
    healthy = make_users(make_user, sandbox, 12, prefix="healthy", latency_ms={"min": 5, "max": 30})
    for user_id, (_, user_fields, account_fields) in POISON.items():
        set_up_sellers(sandbox, user_id, 1)
        make_user(user_id, [("US", seller_name(f"{user_id}0000", "US"))])
        corrupt(user_id, user_fields, account_fields)
    set_up_sellers(sandbox, "poison-deleted", 3, latency_ms=400)
    make_user("poison-deleted", [(c, seller_name("poison-deleted0002", c)) for c in ("US", "DE", "GB")])
    supervisor = topology()
    supervisor.start("worker", worker_command(processes=1, threads=3))

    # When all are synced, and the slow user is deleted once its first account is done
    clock = Stopwatch()
    enqueued = {
        e.user_id: e.job_id for e in producer.enqueue_users([*healthy, *POISON, "poison-deleted"], "manual")
    }
    deleted_job = enqueued["poison-deleted"]
    wait_for(lambda: redis_client.hlen(done_key(settings, deleted_job)) >= 1, timeout=60)
    User.objects(user_id="poison-deleted").delete()
    SellerAccount.objects(user_id="poison-deleted").delete()
    wait_until_finished(list(enqueued.values()), timeout=90, interval=0.05)

    # Then every healthy job completed
    outcome = ledger([enqueued[u] for u in healthy], topology.log_path.read_text())
    assert outcome.by_status == {"completed": len(healthy)}, outcome.by_status
    # And each poisoned job failed, saying why in words
    reasons = {}
    for user_id in FAILING:
        record = JobStatus.objects.get(job_id=enqueued[user_id])
        assert record.status == "failed", (user_id, record.status, record.error)
        assert record.attempts == 1, "a retry would read the same documents"
        assert record.error and record.error.type and record.error.message, user_id
        reasons[user_id] = f"{record.error.type}: {record.error.message}"
    assert (
        reasons["poison-token"].startswith("CorruptDocumentError")
        and "refresh_token" in reasons["poison-token"]
    )
    assert "marketplace_id" in reasons["poison-missing"] and "orders_cursor" in reasons["poison-cursor"]
    assert (
        reasons["poison-deleted"].startswith("UnknownUserError")
        and "deleted during the job" in reasons["poison-deleted"]
    )
    # And the user whose unused fields were of the wrong types was synced, its sync time repaired
    assert JobStatus.objects.get(job_id=enqueued["poison-types"]).status == "completed"
    assert User.objects.get(user_id="poison-types").last_synced_at is not None
    # And the workers live on
    assert supervisor.processes["worker"].alive() and supervisor.processes["worker"].starts == 1
    print("\n".join(f"{u}: {r}" for u, r in reasons.items()))
    report(
        ReportRow(
            scenario="Poison input",
            done=(
                f"{len(POISON)} users with corrupt documents ({'; '.join(p[0] for p in POISON.values())}) "
                f"and one deleted mid-job, among {len(healthy)} healthy users"
            ),
            jobs_in=len(enqueued),
            completed=outcome.completed,
            lost=0,
            duplicated=len(outcome.duplicated),
            recovery_seconds=None,
            notes=(
                f"{len(reasons)} poisoned jobs failed at once with a reason, the user with unused corrupt "
                f"fields was synced, {outcome.completed} healthy jobs completed in {clock.seconds():.0f} s"
            ),
        )
    )
