"""``sellersync enqueue | status | stats | failed | retry | cancel``, against real Redis and the store."""

from __future__ import annotations

import uuid

from models import JobStatus
from tests.support import wait_finished


def test_enqueue_named_users_queues_one_job_each_and_dedups_a_second_time(sellersync, make_user):
    # Given two users
    make_user("u1", [("US", "acme-us")])
    make_user("u2", [("US", "acme-us-2")])
    # When both are enqueued, then u1 again
    first = sellersync("enqueue", "u1", "u2", "--json")
    again = sellersync("enqueue", "u1")
    # Then each got a queued job, and the second enqueue returned u1's job
    jobs = first.json()["jobs"]
    assert [(j["userId"], j["deduplicated"]) for j in jobs] == [("u1", False), ("u2", False)]
    assert {j.status for j in JobStatus.objects} == {"queued"}
    assert again.code == 0 and jobs[0]["jobId"] in again.out and "already queued or running" in again.out


def test_enqueue_of_an_unknown_user_enqueues_nobody(sellersync, make_user):
    make_user("u1")
    ran = sellersync("enqueue", "u1", "ghost")
    assert ran.code == 1 and "'ghost'" in ran.err
    assert JobStatus.objects.count() == 0


def test_enqueue_needs_users_or_all_due_but_not_both(sellersync):
    for argv in (("enqueue",), ("enqueue", "u1", "--all-due"), ("enqueue", "u1", "--dry-run")):
        ran = sellersync(*argv)
        assert ran.code == 2, argv
        assert len(ran.err.splitlines()) == 1


def test_enqueue_all_due_dry_run_lists_the_due_users_and_enqueues_nothing(sellersync, make_user):
    # Given two users with an account, one without, and one disabled
    make_user("u1", [("US", "acme-us")])
    make_user("u2", [("DE", "acme-de")])
    make_user("idle")
    make_user("off", [("US", "acme-off")], sync_enabled=False)
    # When the due users are listed
    ran = sellersync("enqueue", "--all-due", "--dry-run", "--json")
    # Then the two due ones are, with progress on stderr, and nothing is queued
    assert ran.code == 0
    assert sorted(ran.json()["due"]) == ["u1", "u2"]
    assert "due users found" in ran.err
    assert JobStatus.objects.count() == 0


def test_enqueue_all_due_enqueues_them_and_shows_progress(sellersync, make_user):
    make_user("u1", [("US", "acme-us")])
    make_user("u2", [("DE", "acme-de")])
    ran = sellersync("enqueue", "--all-due")
    assert ran.code == 0
    assert "2 due users enqueued" in ran.err
    assert sorted(JobStatus.objects.scalar("user_id")) == ["u1", "u2"]
    assert ran.out.splitlines()[0].split() == ["USER", "JOB", "RESULT"]
    # And they are the scheduler's tick, run by hand: the standard lane
    assert set(JobStatus.objects.scalar("trigger")) == {"schedule"}
    assert set(JobStatus.objects.scalar("lane")) == {"standard"}


def test_status_of_a_job_and_of_a_user_after_a_real_sync(sellersync, make_user, worker):
    # Given a user whose sync ran on a real worker
    make_user("u1", [("US", "acme-us")])
    job_id = sellersync("enqueue", "u1", "--json").json()["jobs"][0]["jobId"]
    wait_finished(job_id)
    # When the job and the user are asked for
    job = sellersync("status", job_id, "--json").json()
    user = sellersync("status", "--user", "u1", "--json").json()
    table = sellersync("status", "--user", "u1")
    detail = sellersync("status", job_id)
    # Then both say completed, in JSON (the API's shapes) and as tables
    assert job["status"] == "completed" and job["accountsProcessed"] == 1
    assert user["userId"] == "u1" and user["latest"]["jobId"] == job_id and user["lastSyncedAt"]
    assert "completed" in table.out and table.out.startswith("User u1: last synced 20")
    assert "completed" in detail.out and "na" in detail.out and "US" in detail.out
    # And the account's first sync shows when its first look and its full analysis were cached
    account = job["accounts"][0]
    assert job["trigger"] == "manual" and job["lane"] == "priority"
    assert account["firstLookAt"] and account["analysedAt"] and account["firstLookAt"] < account["analysedAt"]
    assert "FIRST LOOK" in detail.out and "ANALYSED" in detail.out


def test_status_refuses_a_malformed_job_id_and_fails_on_unknown_ones(sellersync, make_user):
    assert sellersync("status", "not-a-uuid").code == 2
    assert sellersync("status").code == 2
    unknown = sellersync("status", str(uuid.uuid4()))
    assert unknown.code == 1 and "no job with id" in unknown.err
    assert sellersync("status", "--user", "ghost").code == 1


def test_stats_counts_jobs_by_state_and_watch_refreshes(sellersync, make_user, job):
    # Given a queued, a completed and a failed job
    make_user("u1", [("US", "acme-us")])
    sellersync("enqueue", "u1")
    job("u2", "completed")
    job("u3", "failed", error=("TransientSpApiError", "503"))
    # When stats are asked once (JSON, table) and watched twice
    stats = sellersync("stats", "--json").json()
    table = sellersync("stats")
    watched = sellersync("stats", "--watch", "--count", "2", "--interval", "0.01")
    # Then the counts are right and the watch printed two lines
    assert (stats["counts"]["waiting"], stats["counts"]["completed"], stats["counts"]["failed"]) == (1, 1, 1)
    assert stats["throughput"]["completedLastHour"] == 1
    assert "waiting" in table.out and "Last hour: 1 completed, 1 failed" in table.out
    assert len(watched.out.splitlines()) == 2 and "waiting 1" in watched.out
    assert sellersync("stats", "--count", "2").code == 2
    for interval in ("0", "-1", "nan", "soon"):
        assert sellersync("stats", "--watch", "--interval", interval).code == 2


def test_failed_lists_failed_jobs_only_newest_failure_first(sellersync, job):
    job("u1", "failed", minutes_ago=30, error=("TransientSpApiError", "getOrders: 503"))
    job("u2", "failed", minutes_ago=5, error=("PermanentSpApiError", "getOrders: 400"))
    job("u3", "completed")
    listed = sellersync("failed", "--json").json()["jobs"]
    table = sellersync("failed", "--limit", "1")
    assert [j["userId"] for j in listed] == ["u2", "u1"]
    assert listed[0]["error"] == {"type": "PermanentSpApiError", "message": "getOrders: 400"}
    assert len(table.out.splitlines()) == 2 and "u2" in table.out
    assert sellersync("failed", "--limit", "0").code == 2
    assert sellersync("failed", "--limit", "ten").code == 2


def test_retry_enqueues_a_new_job_for_a_failed_one_and_refuses_a_completed_one(sellersync, make_user, job):
    make_user("u1", [("US", "acme-us")])
    failed = job("u1", "failed", error=("TransientSpApiError", "503"))
    done = job("u1", "completed", minutes_ago=60)
    ran = sellersync("retry", failed.job_id, "--json")
    assert ran.code == 0, ran.err
    new_id = ran.json()["jobs"][0]["jobId"]
    assert JobStatus.objects.get(job_id=new_id).retry_of == failed.job_id
    refused = sellersync("retry", done.job_id)
    assert refused.code == 1 and "only failed or cancelled jobs can be retried" in refused.err
    assert sellersync("retry", str(uuid.uuid4())).code == 1
    assert sellersync("retry").code == 2


def test_retry_all_failed_retries_each_user_whose_latest_job_failed_once(sellersync, make_user, job):
    # Given u1 and u2 whose latest job failed, u3 whose failure was followed by a success, and u4 whose
    # failure is older than --since
    for user in ("u1", "u2", "u3", "u4"):
        make_user(user, [("US", f"acme-{user}")])
    job("u1", "failed", minutes_ago=10)
    job("u1", "failed", minutes_ago=20)
    job("u2", "failed", minutes_ago=10)
    job("u3", "failed", minutes_ago=20)
    job("u3", "completed", minutes_ago=10)
    job("u4", "failed", minutes_ago=180)
    # When every failed job of the last 2 h is retried, twice
    ran = sellersync("retry", "--all-failed", "--since", "2h", "--json")
    again = sellersync("retry", "--all-failed", "--since", "2h", "--json")
    # Then u1 and u2 got one new job each, with progress shown; the second run changed nothing
    assert ran.code == 0 and "2 of 2 failed jobs retried" in ran.err
    assert sorted(j["userId"] for j in ran.json()["jobs"]) == ["u1", "u2"]
    assert JobStatus.objects(trigger="retry").count() == 2
    assert again.json()["jobs"] == [] and "No user's latest job failed" in again.err
    assert sellersync("retry", "--all-failed", "--since", "yesterday").code == 2


def test_cancel_a_queued_job_and_refuse_a_finished_one(sellersync, make_user, job):
    make_user("u1", [("US", "acme-us")])
    queued = sellersync("enqueue", "u1", "--json").json()["jobs"][0]["jobId"]
    done = job("u2", "completed")
    cancelled = sellersync("cancel", queued)
    assert cancelled.code == 0 and "Cancelled job" in cancelled.out
    assert JobStatus.objects.get(job_id=queued).status == "cancelled"
    refused = sellersync("cancel", done.job_id)
    assert refused.code == 1 and "already completed" in refused.err
    assert sellersync("cancel", str(uuid.uuid4())).code == 1
    assert sellersync("cancel", "nope").code == 2


def test_cancel_of_a_running_job_says_requested_and_a_repeat_says_so_as_the_api_does(
    sellersync, make_user, job
):
    # Given a running job and a queued one
    running = job("u1", "running")
    make_user("u2", [("US", "acme-us")])
    queued = sellersync("enqueue", "u2", "--json").json()["jobs"][0]["jobId"]
    # When each is cancelled twice
    asked, asked_again = sellersync("cancel", running.job_id), sellersync("cancel", running.job_id, "--json")
    done, done_again = sellersync("cancel", queued), sellersync("cancel", queued)
    # Then the running one is only asked to stop, and the repeat says so (no error)
    assert asked.code == 0 and "is requested" in asked.out and "stops before its next account" in asked.out
    assert asked_again.code == 0
    shown = asked_again.json()
    assert (shown["cancel"], shown["repeated"], shown["status"]) == ("requested", True, "running")
    assert shown["cancelRequestedAt"] is not None
    # And the queued one is cancelled once; the repeat says it already was
    assert done.code == 0 and "Cancelled job" in done.out
    assert done_again.code == 0 and "was already cancelled" in done_again.out
