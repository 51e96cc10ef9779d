"""Property tests of the job producer's entry points: enqueue, cancel and retry, given anything.

Whatever a caller passes (an id, a MongoDB operator such as ``{"$ne": None}``, a number, bytes, a
list, None, a string with NUL or regex characters) the answer is a clean error of our own
(``SellerSyncError``: unknown user or job, wrong state, bad trigger) or a correct result; never
another exception, and a refusal writes nothing. Hypothesis is derandomized and keeps no database,
so every run tries the same inputs.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from models import JobStatus
from models.jobs import ACTIVE_STATUSES, JOB_STATUSES, TRIGGERS
from services.platform.errors import InvalidInputError, JobStateError, UnknownJobError, UnknownUserError
from tests.security import inputs
from tests.security.inputs import ALWAYS, OPERATOR_VALUES, USERS
from tests.support.properties import derandomized

#: Anything a caller might pass where an id belongs.
ANYTHING = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " u1", "U1", "u1\x00", "u.*", ".*", "$ne", "u1 ", "ü1", "\ud800"]),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.sampled_from([*USERS, "x"]), max_size=3),
    OPERATOR_VALUES,
)
SETTINGS = derandomized(60)


def with_examples(name: str, **others):
    return inputs.with_examples(ALWAYS, name, **others)


@pytest.fixture
def jobs_in_every_state(make_user, job) -> list[str]:
    """Users u1-u3 and a job of each status (u1 has none): the ids the properties also draw from."""
    for user in USERS:
        make_user(user)
    return [job(USERS[1 + n % 2], status).job_id for n, status in enumerate(("queued", *ACTIVE_STATUSES))] + [
        job(USERS[1 + n % 2], status).job_id for n, status in enumerate(("completed", "failed", "cancelled"))
    ]


def attempt(action, job_id: object, snapshot) -> tuple[JobStatus | None, object, bool]:
    """``(was, outcome, unchanged)``: the record ``job_id`` named before ``action(job_id)``, what the
    action returned (or the UnknownJobError / JobStateError it refused with), and whether the store is
    as it was. A refusal writes nothing, and UnknownJobError is only for an id that names no job."""
    was, before = stored(job_id), snapshot()
    try:
        outcome = action(job_id)
    except (UnknownJobError, JobStateError) as refusal:
        assert snapshot() == before
        assert was is None if isinstance(refusal, UnknownJobError) else was is not None
        return was, refusal, True
    return was, outcome, snapshot() == before


def for_any_job_id(jobs: list[str]):
    """Runs a property ``check(job_id)`` on the ids of ``jobs`` and on anything else a caller might pass."""

    def decorate(check):
        return given(job_id=st.one_of(st.sampled_from(jobs), ANYTHING))(
            with_examples("job_id")(SETTINGS(check))
        )

    return decorate


def refused(outcome: object, was: JobStatus | None, refusable: tuple[str, ...]) -> bool:
    """True when ``outcome`` is a refusal, after checking it is right: an id naming no job, or a job in
    one of the ``refusable`` statuses."""
    if not isinstance(outcome, (UnknownJobError, JobStateError)):
        return False
    assert isinstance(outcome, UnknownJobError) or was.status in refusable
    return True


def stored(job_id: object) -> JobStatus | None:
    """The record named by ``job_id``; the oracle itself never queries with what cannot be an id."""
    if not isinstance(job_id, str) or job_id.encode(errors="ignore").decode() != job_id:
        return None
    return JobStatus.objects(job_id=job_id).first()


def test_enqueue_gives_a_clean_error_or_the_users_active_job(producer, jobs_in_every_state, snapshot):
    @given(
        user_id=st.one_of(st.sampled_from(USERS), ANYTHING),
        trigger=st.one_of(st.sampled_from(TRIGGERS), ANYTHING),
    )
    @SETTINGS
    def check(user_id, trigger):
        # Given the store as it is, and any user id and trigger
        before = snapshot()
        records = JobStatus.objects.count()
        # When the user is enqueued
        try:
            result = producer.enqueue_user(user_id, trigger)
        except (UnknownUserError, InvalidInputError):
            # Then a refusal names no user or a bad trigger, and wrote nothing
            assert user_id not in USERS or trigger not in TRIGGERS
            assert snapshot() == before
            return
        # Or the result is the user's one active job: new, or the one already queued or running
        assert user_id in USERS and trigger in TRIGGERS and result.user_id == user_id
        record = JobStatus.objects.get(job_id=result.job_id)
        assert record.user_id == user_id and record.status in ACTIVE_STATUSES
        assert producer.active.current(user_id) == result.job_id
        if result.deduplicated:
            assert snapshot() == before
        else:
            assert record.trigger == trigger and JobStatus.objects.count() == records + 1

    check()


def test_enqueue_many_skips_what_names_no_user(producer, jobs_in_every_state, snapshot):
    @given(user_ids=st.lists(st.one_of(st.sampled_from(USERS), ANYTHING), max_size=6))
    @example(user_ids=["u1", *ALWAYS, "u2"])
    @SETTINGS
    def check(user_ids):
        before = snapshot()
        results = producer.enqueue_users(user_ids, "schedule", batch_size=4)
        # Every result is a known user's active job; an input naming no user gets no result
        known = [u for u in user_ids if isinstance(u, str) and u in USERS]
        assert [r.user_id for r in results] == known
        for result in results:
            assert stored(result.job_id).status in ACTIVE_STATUSES
        if not results:
            assert snapshot() == before

    check()


def test_cancel_gives_a_clean_error_or_cancels_that_job(producer, jobs_in_every_state, snapshot):
    @for_any_job_id(jobs_in_every_state)
    def check(job_id):
        # Given any job id, and the record it names (if any) as it was; when the job is cancelled
        was, cancellation, unchanged = attempt(producer.remove_job, job_id, snapshot)
        # Then an id naming no job is refused, and so is a completed or failed job, writing nothing
        if refused(cancellation, was, ("completed", "failed")):
            return
        record = cancellation.record
        assert was is not None and record.job_id == job_id
        if cancellation.repeated:
            # A cancelled job, or a running one already asked to stop, stays as it was: idempotent
            assert (was.status == "cancelled" or was.cancel_requested) and unchanged
        # Or exactly that job is cancelled (queued, retrying) or asked to stop (running)
        elif was.status == "running":
            assert record.status == "running" and record.cancel_requested
        else:
            assert was.status in ("queued", "retrying") and record.status == "cancelled"
            assert producer.active.current(record.user_id) != job_id

    check()


def test_retry_gives_a_clean_error_or_a_job_for_that_user(producer, jobs_in_every_state, snapshot):
    @for_any_job_id(jobs_in_every_state)
    def check(job_id):
        was, result, _ = attempt(producer.retry_job, job_id, snapshot)
        if refused(result, was, tuple(s for s in JOB_STATUSES if s not in ("failed", "cancelled"))):
            return
        # Only a failed or cancelled job is retried, as a job of its own user
        assert was.status in ("failed", "cancelled") and result.user_id == was.user_id
        record = stored(result.job_id)
        assert record.status in ACTIVE_STATUSES
        if not result.deduplicated:
            assert record.retry_of == job_id and record.trigger == "retry"

    check()
