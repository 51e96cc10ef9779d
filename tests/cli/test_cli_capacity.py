"""``sellersync capacity`` on job records built here, with the answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from models import User

ONE = (("na", "US", "completed"),)
THREE = (("na", "US", "completed"), ("eu", "DE", "completed"), ("fe", "JP", "completed"))


def given_a_day_of_jobs_and_1000_enabled_users(job) -> None:
    # Ten jobs finished in the last 24 h; durations sorted: 2 4 4 6 8 10 12 14 16 40 s.
    # Two of them took a second attempt; five synced one account, five three.
    for index, (seconds, attempts) in enumerate(
        [(8, 1), (2, 1), (40, 2), (4, 1), (16, 1), (4, 2), (12, 1), (6, 1), (14, 1), (10, 1)]
    ):
        job(
            f"u{index}",
            "completed" if index % 4 else "failed",
            minutes_ago=30 + index * 60,
            duration_ms=seconds * 1000,
            attempts=attempts,
            accounts=ONE if index % 2 else THREE,
            quota_waits=3 if index == 2 else 0,
        )
    # Not measured: a job finished 25 h ago (1,000 s), and jobs not finished.
    job("old", "completed", minutes_ago=25 * 60, duration_ms=1_000_000)
    job("waiting", "queued")
    job("busy", "running")
    now = datetime.now(UTC)
    users = [{"user_id": f"user-{n:04d}", "sync_enabled": n < 1000, "created_at": now} for n in range(1050)]
    User._get_collection().insert_many(users)


def test_capacity_measures_the_last_day_and_sizes_the_wave_on_p95(sellersync, job):
    given_a_day_of_jobs_and_1000_enabled_users(job)
    # When the operator asks for the workers that finish an hourly wave within 45 minutes (the default)
    ran = sellersync("capacity", "--json")
    # Then, by hand: nearest rank p50 = 5th of 10 = 8 s, p95 = 10th of 10 = 40 s; accounts per user
    # (5×1 + 5×3) / 10 = 2; retry rate 2/10; attempts per job 12/10 = 1.2; 1,000 users due each hour;
    # work = 1,000 × 1.2 × 40 s = 48,000 s; threads = ceil(48,000 / 2,700) = 18; processes of
    # WORKER_CONCURRENCY 3 threads = 6
    assert ran.code == 0, ran.err
    data = ran.json()
    measured, plan = data["measured"], data["plan"]
    assert measured["jobs"] == 10
    assert (measured["p50_seconds"], measured["p95_seconds"], measured["max_seconds"]) == (8, 40, 40)
    assert measured["accounts_per_user"] == 2
    assert measured["retry_rate"] == 0.2
    assert measured["attempts_per_job"] == 1.2
    assert measured["jobs_with_quota_waits"] == 1
    assert measured["sync_enabled_users"] == 1000
    assert plan["users_per_wave"] == 1000
    assert plan["within_seconds"] == 2700
    assert round(plan["work_seconds"]) == 48_000
    assert (plan["threads"], plan["threads_per_process"], plan["processes"]) == (18, 3, 6)
    assert plan["feasible"] is True
    assert any("getOrders: 20 pages" in line for line in data["perUserLimits"])


def test_capacity_projects_another_user_count_and_shows_its_arithmetic(sellersync, job):
    given_a_day_of_jobs_and_1000_enabled_users(job)
    # When sized for 10,000 users within 30 minutes
    ran = sellersync("capacity", "--users", "10000", "--within", "30m")
    # Then 10,000 × 1.2 × 40 s = 480,000 s; ceil(480,000 / 1,800) = 267 threads; ceil(267 / 3) = 89
    assert ran.code == 0, ran.err
    assert "work per wave  = 10,000 jobs × 1.20 attempts × p95 40.0 s = 480,000.0 s" in ran.out
    assert "threads        = ceil(480,000.0 s / 1,800 s) = 267" in ran.out
    assert "Needed: 89 worker process(es) × 3 threads" in ran.out
    assert "per-seller SP-API quotas" in ran.out


def test_capacity_warns_when_one_job_alone_is_longer_than_the_target(sellersync, job):
    given_a_day_of_jobs_and_1000_enabled_users(job)
    ran = sellersync("capacity", "--within", "30s")
    assert ran.code == 0
    assert "Warning: a p95 job alone takes 40 s, longer than the target" in ran.out


def test_capacity_with_no_finished_job_says_what_to_do(sellersync):
    ran = sellersync("capacity", "--json")
    assert ran.code == 0 and ran.json()["plan"] is None
    assert "No finished job to measure yet" in sellersync("capacity").out
    assert sellersync("capacity", "--within", "soon").code == 2
