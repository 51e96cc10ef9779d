"""DELETE /app/job-status/job/{jobId} (issue 19): a cancel says what it did.

A queued job is cancelled (200, ``cancel: done``); a running one only has the request recorded (202,
``cancel: requested``, ``cancelRequestedAt``) and may still complete its last account; a second cancel
changes nothing and says ``repeated: true``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import falcon

from models import JobStatus, SellerAccount
from tests.support import wait_for

BASE = "/app/job-status"


def test_cancelling_a_running_job_is_202_requested_with_the_time_on_the_job(client, make_user, job):
    # Given a running job
    make_user("u1")
    running = job("u1", "running")
    # When it is cancelled
    result = client.simulate_delete(f"{BASE}/job/{running.job_id}")
    # Then the answer says the cancel is requested, not done, and the job still runs
    assert result.status == falcon.HTTP_202, result.text
    body = result.json
    assert (body["status"], body["cancel"], body["repeated"]) == ("running", "requested", False)
    assert body["cancelRequestedAt"].endswith("Z")
    # And the job's own shape shows the request
    shown = client.simulate_get(f"{BASE}/status/job/{running.job_id}").json
    assert shown["cancelRequestedAt"] == body["cancelRequestedAt"]


def test_a_second_cancel_of_a_running_job_is_idempotent_and_says_so(client, make_user, job):
    # Given a running job whose cancel was requested once
    make_user("u1")
    running = job("u1", "running")
    first = client.simulate_delete(f"{BASE}/job/{running.job_id}").json
    before = JobStatus.objects.get(job_id=running.job_id).to_mongo()
    # When it is cancelled again
    again = client.simulate_delete(f"{BASE}/job/{running.job_id}")
    # Then the answer is the same request, marked repeated, and nothing was written
    assert again.status == falcon.HTTP_202
    assert (again.json["cancel"], again.json["repeated"]) == ("requested", True)
    assert again.json["cancelRequestedAt"] == first["cancelRequestedAt"]
    assert JobStatus.objects.get(job_id=running.job_id).to_mongo() == before


def test_a_queued_job_is_cancelled_200_and_a_second_cancel_says_repeated(client, make_user):
    # Given a queued job
    make_user("u1")
    job_id = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u1"]}).json["jobs"][0]["jobId"]
    # When it is cancelled twice
    first = client.simulate_delete(f"{BASE}/job/{job_id}")
    again = client.simulate_delete(f"{BASE}/job/{job_id}")
    # Then both answer 200 with the cancelled job; only the second says repeated
    assert (first.status, again.status) == (falcon.HTTP_200, falcon.HTTP_200)
    said = [(r.json["status"], r.json["cancel"], r.json["repeated"]) for r in (first, again)]
    assert said == [("cancelled", "done", False), ("cancelled", "done", True)]
    assert first.json["cancelRequestedAt"] is not None


def test_a_job_on_its_last_account_completes_anyway_with_the_cancel_request_noted(
    client, make_user, worker, sandbox
):
    # Given a running job of one account synced before (no first look), which answers slowly
    make_user("u-last", [("US", "last-us")])
    SellerAccount.objects(user_id="u-last").update(set__orders_cursor=datetime.now(UTC) - timedelta(hours=1))
    sandbox.state.set_faults("last-us", [{"latencyMs": 1000}])
    job_id = client.simulate_post(f"{BASE}/sync", json={"userIds": ["u-last"]}).json["jobs"][0]["jobId"]
    wait_for(lambda: "last-us" in sandbox.state.get_stats())  # its first call answered: it is under way
    # When it is cancelled while its last account is fetched
    cancel = client.simulate_delete(f"{BASE}/job/{job_id}")
    assert cancel.status == falcon.HTTP_202 and cancel.json["cancel"] == "requested"
    # Then the job completes, and its record still shows when the cancel was asked
    wait_for(lambda: JobStatus.objects(job_id=job_id, status="completed").first())
    shown = client.simulate_get(f"{BASE}/status/job/{job_id}").json
    assert shown["status"] == "completed"
    assert shown["cancelRequestedAt"] == cancel.json["cancelRequestedAt"]
    # And a cancel now is refused: the job has finished
    assert client.simulate_delete(f"{BASE}/job/{job_id}").status == falcon.HTTP_409
