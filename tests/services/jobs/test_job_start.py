"""A job's start is a conditional write: it must still start the job when its write was applied but
its reply was lost (a connection cut while the store restarts), and pymongo or the caller sends it again."""

from __future__ import annotations

from models import JobStatus
from services.jobs.records import JobRecords


def test_a_start_sent_again_after_its_write_was_applied_starts_the_job(settings, producer, make_user):
    # Given a user's queued job, whose start by an execution with fencing token 7 was applied by the store
    # (its reply lost: the caller does not know)
    make_user("u-start")
    records = JobRecords(settings)
    job_id = producer.enqueue_user("u-start", "manual").job_id
    assert records.start(job_id, "u-start", fence=7)

    # When the same start is sent again, as a retried write is
    again = records.start(job_id, "u-start", fence=7)

    # Then the job is started, once: the record is running under that token, one attempt counted
    record = JobStatus.objects.get(job_id=job_id)
    assert again is True and (record.status, record.fence, record.attempts) == ("running", 7, 1)
