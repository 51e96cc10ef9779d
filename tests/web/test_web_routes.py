"""Every route of the README's REST table through falcon.testing, happy paths and error cases."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import falcon.testing
import pytest

from models import JobStatus, User
from web.app import create_app

BASE = "/app/job-status"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JOB_KEYS = {
    "jobId", "userId", "status", "trigger", "attempts", "maxAttempts", "quotaWaits", "queuedAt", "startedAt",
    "completedAt", "failedAt", "cancelRequestedAt", "durationMs", "progress", "accountsTotal",
    "accountsProcessed", "accountsFailed", "accounts", "error", "worker", "lane", "promotedAt",
}  # fmt: skip


def assert_error(result, status: str, mentions: str = "") -> None:
    assert result.status == status, result.text
    assert "title" in result.json
    if mentions:
        assert mentions in result.json.get("description", ""), result.json


# -- GET status/user/{userId} ----------------------------------------------------------------------
def test_user_status_lists_the_users_jobs_newest_first(client, make_user, job):
    # Given a user with an old failed job and a newer completed one, and another user's job
    make_user("u1")
    User.objects(user_id="u1").update_one(set__last_synced_at=datetime(2024, 5, 1, 12, tzinfo=UTC))
    old = job("u1", "failed", minutes_ago=90, error=("TransientSpApiError", "503"))
    new = job("u1", "completed", minutes_ago=10)
    job("u2", "completed")
    # When
    result = client.simulate_get(f"{BASE}/status/user/u1")
    # Then
    assert result.status == falcon.HTTP_200
    body = result.json
    assert body["userId"] == "u1"
    assert body["lastSyncedAt"] == "2024-05-01T12:00:00.000Z"
    assert [j["jobId"] for j in body["jobs"]] == [new.job_id, old.job_id]
    assert body["latest"]["jobId"] == new.job_id
    assert set(body["latest"]) == JOB_KEYS


def test_user_status_honours_limit_and_has_null_latest_without_jobs(client, make_user, job):
    make_user("u1")
    make_user("u-idle")
    for minutes in (1, 2, 3):
        job("u1", minutes_ago=minutes)
    assert len(client.simulate_get(f"{BASE}/status/user/u1", params={"limit": 2}).json["jobs"]) == 2
    idle = client.simulate_get(f"{BASE}/status/user/u-idle").json
    assert idle == {"userId": "u-idle", "lastSyncedAt": None, "latest": None, "jobs": []}


def test_user_status_of_an_unknown_user_is_404(client):
    assert_error(client.simulate_get(f"{BASE}/status/user/nobody"), falcon.HTTP_404, "nobody")


@pytest.mark.parametrize("limit", ["0", "1001", "ten", "-1", "1.5"])
def test_user_status_with_a_bad_limit_is_400_naming_limit(client, make_user, limit):
    make_user("u1")
    result = client.simulate_get(f"{BASE}/status/user/u1", query_string=f"limit={limit}")
    assert_error(result, falcon.HTTP_400, '"limit"')


def test_user_status_with_a_control_character_in_the_id_is_400(client):
    assert_error(client.simulate_get(f"{BASE}/status/user/a%01b"), falcon.HTTP_400, '"userId"')


# -- GET status/job/{jobId} ------------------------------------------------------------------------
def test_job_by_id_has_the_contract_shape(client, job):
    # Given a completed job with one completed and one failed account
    record = job("u1", accounts=[("na", "US", "completed"), ("eu", "DE", "failed")])
    # When
    body = client.simulate_get(f"{BASE}/status/job/{record.job_id}").json
    # Then
    assert set(body) == JOB_KEYS
    assert body["jobId"] == record.job_id and body["status"] == "completed"
    assert (body["accountsTotal"], body["accountsProcessed"], body["accountsFailed"]) == (2, 2, 1)
    assert body["progress"] == 100
    assert body["accounts"][1] == {
        "region": "eu",
        "country": "DE",
        "status": "failed",
        "ordersFetched": 0,
        "durationMs": 800,
        "error": {"type": "TransientSpApiError", "message": "getOrders: 503"},
        "firstLookAt": None,
        "analysedAt": None,
    }
    for name in ("queuedAt", "startedAt", "completedAt"):
        assert ISO_Z.match(body[name]), body[name]
    assert body["failedAt"] is None and body["error"] is None


def test_job_by_id_unknown_is_404_and_malformed_is_400(client):
    assert_error(client.simulate_get(f"{BASE}/status/job/{uuid.uuid4()}"), falcon.HTTP_404)
    assert_error(client.simulate_get(f"{BASE}/status/job/not-a-job-id"), falcon.HTTP_400, '"jobId"')


# -- GET recent ------------------------------------------------------------------------------------
def test_recent_is_newest_first_and_filters_by_status(client, job):
    # Given jobs queued at different times in different states
    older = job("u1", "failed", minutes_ago=30, error=("PermanentSpApiError", "400 from getOrders"))
    newer = job("u2", "completed", minutes_ago=3)
    queued = job("u3", "queued", minutes_ago=1)
    # When / Then
    assert [j["jobId"] for j in client.simulate_get(f"{BASE}/recent").json["jobs"]] == [
        queued.job_id,
        newer.job_id,
        older.job_id,
    ]
    failed = client.simulate_get(f"{BASE}/recent", params={"status": "failed"}).json["jobs"]
    assert [j["jobId"] for j in failed] == [older.job_id]
    assert len(client.simulate_get(f"{BASE}/recent", params={"limit": 1}).json["jobs"]) == 1


@pytest.mark.parametrize("status", ["done", "FAILED", '{"$ne": null}', ""])
def test_recent_with_an_unknown_status_is_400_naming_status(client, status):
    assert_error(
        client.simulate_get(f"{BASE}/recent", params={"status": status}), falcon.HTTP_400, '"status"'
    )


@pytest.mark.parametrize("query, name", [("status[$ne]=x", "status[$ne]"), ("limt=5", "limt")])
def test_recent_refuses_unknown_parameters_by_name(client, query, name):
    # Given an operator-shaped parameter name or a typo; When / Then: 400 naming it, never ignored
    result = client.simulate_get(f"{BASE}/recent", query_string=query)
    assert_error(result, falcon.HTTP_400, f'"{name}"')


def test_recent_limit_is_bounded(client):
    assert_error(client.simulate_get(f"{BASE}/recent", params={"limit": 5000}), falcon.HTTP_400, '"limit"')


# -- GET failed ------------------------------------------------------------------------------------
def test_failed_lists_only_failed_jobs_latest_failure_first(client, job):
    first = job("u1", "failed", minutes_ago=60, error=("TransientSpApiError", "429 after 4 tries"))
    second = job("u2", "failed", minutes_ago=5, error=("AccountAuthError", "invalid_grant"))
    job("u3", "completed")
    body = client.simulate_get(f"{BASE}/failed").json
    assert [j["jobId"] for j in body["jobs"]] == [second.job_id, first.job_id]
    assert body["jobs"][0]["error"] == {"type": "AccountAuthError", "message": "invalid_grant"}
    assert ISO_Z.match(body["jobs"][0]["failedAt"])


@pytest.mark.parametrize("limit, status", [("1", falcon.HTTP_200), ("1000", falcon.HTTP_200)])
def test_failed_limit_accepts_its_bounds(client, limit, status):
    assert client.simulate_get(f"{BASE}/failed", query_string=f"limit={limit}").status == status


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_failed_limit_outside_1_to_1000_is_400(client, limit):
    assert_error(
        client.simulate_get(f"{BASE}/failed", query_string=f"limit={limit}"), falcon.HTTP_400, '"limit"'
    )


# -- GET queue/stats and overview ------------------------------------------------------------------
def test_queue_stats_counts_jobs_by_state(client, job):
    # Given two queued jobs (the oldest 10 minutes ago), one running, one completed and one failed
    job("u1", "queued", minutes_ago=10)
    job("u2", "queued", minutes_ago=1)
    job("u3", "running")
    job("u4", "completed")
    job("u5", "failed", error=("TransientSpApiError", "503"))
    # When
    body = client.simulate_get(f"{BASE}/queue/stats").json
    # Then
    assert body["queue"] == "sync"
    assert body["counts"] == {
        "waiting": 2,
        "delayed": 0,
        "active": 1,
        "retrying": 0,
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert body["throughput"]["completedLastHour"] == 1 and body["throughput"]["failedLastHour"] == 1
    assert 10 * 60 <= body["oldestWaitingSeconds"] <= 10 * 60 + 60
    assert body["workers"] == 0


def test_overview_has_24_hourly_buckets_and_freshness(client, make_user, job, settings):
    # Given two sync-enabled users, one synced a minute ago, and one completed and one failed job
    make_user("fresh")
    make_user("stale")
    make_user("off", sync_enabled=False)
    User.objects(user_id="fresh").update_one(set__last_synced_at=datetime.now(UTC) - timedelta(minutes=1))
    job("fresh", "completed", minutes_ago=0)
    job("stale", "failed", minutes_ago=0, error=("TransientSpApiError", "503"))
    job("stale", "failed", minutes_ago=25 * 60, error=("TransientSpApiError", "too old to count"))
    # When
    body = client.simulate_get(f"{BASE}/overview").json
    # Then
    assert len(body["hourly"]) == 24
    assert body["hourly"][-1]["completed"] == 1 and body["hourly"][-1]["failed"] == 1
    assert sum(h["failed"] for h in body["hourly"]) == 1
    assert all(ISO_Z.match(h["hour"]) for h in body["hourly"])
    assert body["freshness"] == {
        "syncEnabledUsers": 2,
        "freshUsers": 1,
        "ratio": 0.5,
        "intervalMinutes": settings.sync_interval_minutes,
    }


# -- POST sync -------------------------------------------------------------------------------------
def test_sync_enqueues_each_user_once_and_deduplicates(client, make_user, redis_client, settings):
    # Given two users
    make_user("u1")
    make_user("u2")
    # When both are synced, u1 named twice
    first = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u1", "u2", "u1"]})
    # Then one queued job each, a message on the broker's queue for each
    assert first.status == falcon.HTTP_202
    jobs = first.json["jobs"]
    assert [(j["userId"], j["deduplicated"]) for j in jobs] == [("u1", False), ("u2", False)]
    assert {r.status for r in JobStatus.objects(job_id__in=[j["jobId"] for j in jobs])} == {"queued"}
    # And a second sync of u1 returns its queued job
    again = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u1"]}).json["jobs"][0]
    assert again == {"userId": "u1", "jobId": jobs[0]["jobId"], "deduplicated": True, "promoted": False}


def test_sync_with_an_unknown_user_enqueues_nothing_and_is_404(client, make_user):
    make_user("u1")
    result = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u1", "ghost"]})
    assert_error(result, falcon.HTTP_404, "ghost")
    assert JobStatus.objects.count() == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, '"userIds"'),
        ({"users": ["u1"]}, '"userIds"'),
        ({"userIds": "u1"}, '"userIds"'),
        ({"userIds": []}, '"userIds"'),
        ({"userIds": ["u1", 7]}, '"userIds[1]"'),
        ({"userIds": [{"$ne": None}]}, '"userIds[0]"'),
        ({"userIds": [""]}, '"userIds[0]"'),
        ({"userIds": ["x" * 129]}, '"userIds[0]"'),
        ({"userIds": [f"u{i}" for i in range(1001)]}, '"userIds"'),
        (["u1"], '"userIds"'),
    ],
)
def test_sync_with_a_malformed_body_is_400_naming_the_field(client, body, field):
    assert_error(client.simulate_post(f"{BASE}/sync", json=body), falcon.HTTP_400, field)


def test_sync_with_a_body_that_is_not_json_is_400(client):
    result = client.simulate_post(
        f"{BASE}/sync", body="{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(result, falcon.HTTP_400)
    assert_error(client.simulate_post(f"{BASE}/sync"), falcon.HTTP_400)


# -- DELETE job/{jobId} ----------------------------------------------------------------------------
def test_cancel_a_queued_job(client, make_user):
    # Given a queued job enqueued through the API
    make_user("u1")
    job_id = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u1"]}).json["jobs"][0]["jobId"]
    # When it is cancelled
    result = client.simulate_delete(f"{BASE}/job/{job_id}")
    # Then the cancelled job comes back, and the user is free for a new job
    assert result.status == falcon.HTTP_200
    assert result.json["status"] == "cancelled" and result.json["jobId"] == job_id
    again = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u1"]}).json["jobs"][0]
    assert again["deduplicated"] is False and again["jobId"] != job_id


def test_cancel_a_finished_job_is_409(client, job):
    record = job("u1", "completed")
    assert_error(client.simulate_delete(f"{BASE}/job/{record.job_id}"), falcon.HTTP_409, "completed")


def test_cancel_unknown_is_404_and_malformed_is_400(client):
    assert_error(client.simulate_delete(f"{BASE}/job/{uuid.uuid4()}"), falcon.HTTP_404)
    assert_error(client.simulate_delete(f"{BASE}/job/123"), falcon.HTTP_400, '"jobId"')


# -- POST job/{jobId}/retry ------------------------------------------------------------------------
def test_retry_a_failed_job_enqueues_a_new_job(client, make_user, job):
    # Given a failed job of an existing user
    make_user("u1")
    failed = job("u1", "failed", error=("TransientSpApiError", "503"))
    # When it is retried
    result = client.simulate_post(f"{BASE}/job/{failed.job_id}/retry")
    # Then a new queued job of the same user, triggered by the retry, comes back
    assert result.status == falcon.HTTP_202
    body = result.json
    assert body["jobId"] != failed.job_id and body["userId"] == "u1"
    assert (body["status"], body["trigger"]) == ("queued", "retry")
    assert JobStatus.objects.get(job_id=body["jobId"]).retry_of == failed.job_id


@pytest.mark.parametrize("status", ["completed", "queued", "running"])
def test_retry_a_job_that_is_not_failed_or_cancelled_is_409(client, job, status):
    record = job("u1", status)
    assert_error(client.simulate_post(f"{BASE}/job/{record.job_id}/retry"), falcon.HTTP_409, status)


def test_retry_unknown_is_404_and_malformed_is_400(client):
    assert_error(client.simulate_post(f"{BASE}/job/{uuid.uuid4()}/retry"), falcon.HTTP_404)
    assert_error(client.simulate_post(f"{BASE}/job/x/retry"), falcon.HTTP_400, '"jobId"')


# -- health, ready, metrics, openapi, dashboard ----------------------------------------------------
def test_health_and_ready_report_redis_and_mongodb(anonymous):
    for path in ("/health", "/ready"):
        result = anonymous.simulate_get(path)
        assert result.status == falcon.HTTP_200
        assert result.json["checks"] == {"redis": {"ok": True}, "mongodb": {"ok": True}}


def test_ready_is_503_when_a_dependency_fails_and_health_stays_200(web_config, producer):
    # Given an app whose Redis check fails
    def broken() -> None:
        raise ConnectionError("connection refused")

    app = create_app(web_config, producer=producer, checks={"redis": broken, "mongodb": lambda: None})
    client = falcon.testing.TestClient(app)
    # When / Then
    ready = client.simulate_get("/ready")
    assert ready.status == falcon.HTTP_503
    assert ready.json["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    health = client.simulate_get("/health")
    assert health.status == falcon.HTTP_200 and health.json["status"] == "degraded"


def test_metrics_are_prometheus_text(anonymous, make_user, job):
    # Given a queued job, a completed one of 20 s and a sync-enabled user never synced
    make_user("u1")
    job("u1", "queued", minutes_ago=2)
    job("u2", "completed")
    # When
    result = anonymous.simulate_get("/metrics")
    # Then
    assert result.status == falcon.HTTP_200
    assert result.headers["content-type"].startswith("text/plain")
    text = result.text
    assert 'sellersync_queue_depth{queue="sync",state="waiting"} 1.0' in text
    assert 'sellersync_jobs{status="completed"} 1.0' in text
    assert 'sellersync_recent_job_duration_seconds_bucket{le="30.0"} 1.0' in text
    assert 'sellersync_recent_job_duration_seconds_bucket{le="15.0"} 0.0' in text
    assert "sellersync_freshness_ratio 0.0" in text
    oldest = re.search(r"^sellersync_queue_oldest_waiting_seconds (\S+)$", text, re.M)
    assert oldest and 119 <= float(oldest.group(1)) <= 180


def test_openapi_is_served_without_a_token(anonymous):
    result = anonymous.simulate_get("/openapi.json")
    assert result.status == falcon.HTTP_200 and result.json["openapi"].startswith("3.")


def test_dashboard_page_and_assets_are_served_without_a_token(anonymous):
    page = anonymous.simulate_get(f"{BASE}/")
    assert page.status == falcon.HTTP_200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset, kind in (("dashboard.js", "javascript"), ("dashboard.css", "text/css")):
        result = anonymous.simulate_get(f"{BASE}/static/{asset}")
        assert result.status == falcon.HTTP_200 and kind in result.headers["content-type"]
    redirect = anonymous.simulate_get(BASE)
    assert redirect.status == falcon.HTTP_301 and redirect.headers["location"] == f"{BASE}/"


def test_unknown_paths_are_404(client):
    assert_error(client.simulate_get("/app/job-status/nothing-here"), falcon.HTTP_404)
    assert_error(client.simulate_get(f"{BASE}/static/missing.js"), falcon.HTTP_404)
