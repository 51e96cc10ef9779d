"""Job-status records: one per Dramatiq message (``job_id`` is the message id).

Lifecycle: queued → running → completed | retrying → running … | failed | cancelled. Transitions are
atomic conditional updates made by services.jobs.records; this module only declares the shape.
"""

from mongoengine import (
    BooleanField,
    DateTimeField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    EmbeddedDocumentListField,
    IntField,
    StringField,
)

from models.stored import stored_in

JOB_STATUSES = ("queued", "running", "retrying", "completed", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running", "retrying")
FINISHED_STATUSES = ("completed", "failed", "cancelled")
TRIGGERS = ("schedule", "manual", "retry", "onboarding", "demo")
#: The two lanes (Dramatiq queues) a job can travel in: jobs a person waits for go ahead of the rest.
LANES = ("priority", "standard")
#: The triggers whose jobs travel in the priority lane: a person is waiting for them.
PRIORITY_TRIGGERS = frozenset({"manual", "retry", "onboarding"})


def lane_of(trigger: str) -> str:
    """``priority`` for a job a person waits for, ``standard`` for the scheduler's (and demo) jobs."""
    return "priority" if trigger in PRIORITY_TRIGGERS else "standard"


ACCOUNT_RESULT_STATUSES = ("pending", "completed", "failed", "auth_error", "skipped")


class JobError(EmbeddedDocument):
    #: The exception's class name, e.g. ``TransientSpApiError``.
    type = StringField(required=True)
    #: A one-paragraph message; never contains a secret.
    message = StringField(required=True)


class AccountResult(EmbeddedDocument):
    account_id = StringField(required=True)
    #: The account's key within its user (one account per marketplace); stable across stores.
    marketplace_id = StringField(required=True)
    region = StringField()
    country = StringField()
    status = StringField(default="pending", choices=ACCOUNT_RESULT_STATUSES)
    orders_fetched = IntField(default=0)
    duration_ms = IntField()
    error = EmbeddedDocumentField(JobError)
    #: When this job cached the account's first look (a first sync's quick analysis), if it did.
    first_look_at = DateTimeField()
    #: When this job cached the account's full analysis.
    analysed_at = DateTimeField()


class JobStatus(Document):
    job_id = StringField(required=True)
    user_id = StringField(required=True)
    status = StringField(required=True, choices=JOB_STATUSES)
    trigger = StringField(default="manual", choices=TRIGGERS)
    #: The lane the job was queued in (lane_of); "priority" once a manual sync promoted it.
    lane = StringField(default="standard", choices=LANES)
    #: When a manual sync moved this waiting scheduled job into the priority lane (services.jobs.producer).
    promoted_at = DateTimeField()
    #: How many times a worker started this job (a resume after a quota wait is not a new attempt).
    attempts = IntField(default=0)
    max_attempts = IntField(default=4)
    #: How many times the job handed its worker back to wait for an SP-API quota token.
    quota_waits = IntField(default=0)
    queued_at = DateTimeField(required=True)
    started_at = DateTimeField()
    completed_at = DateTimeField()
    failed_at = DateTimeField()
    cancelled_at = DateTimeField()
    updated_at = DateTimeField(required=True)
    #: Milliseconds of the last attempt, from its start to its end.
    duration_ms = IntField()
    accounts = EmbeddedDocumentListField(AccountResult)
    error = EmbeddedDocumentField(JobError)
    #: ``hostname:pid:thread`` of the worker that last ran the job.
    worker = StringField()
    #: The fencing token of the execution that started the current attempt (services.jobs.lease):
    #: only it may write the record until a newer execution starts.
    fence = IntField()
    #: Set when a running job is cancelled: it stops before its next account.
    cancel_requested = BooleanField(default=False)
    #: When the (first) cancel was asked for; kept when the job completes anyway, so the record shows it.
    cancel_requested_at = DateTimeField()
    #: The job this one retries (POST /job/{id}/retry).
    retry_of = StringField()
    #: The TTL index removes the record at this time (JOB_STATUS_RETENTION_DAYS after the last update).
    expires_at = DateTimeField(required=True)

    meta = stored_in(
        "job_statuses",
        {"fields": ["job_id"], "unique": True},
        {"fields": ["user_id", "-queued_at"]},
        {"fields": ["status", "-updated_at"]},
        {"fields": ["-queued_at"]},
        {"fields": ["expires_at"], "expireAfterSeconds": 0},
    )

    @property
    def accounts_total(self) -> int:
        return len(self.accounts)

    @property
    def accounts_processed(self) -> int:
        return sum(1 for a in self.accounts if a.status != "pending")

    @property
    def accounts_failed(self) -> int:
        return sum(1 for a in self.accounts if a.status in ("failed", "auth_error"))

    @property
    def progress(self) -> int:
        """Percent of accounts processed (0-100)."""
        total = self.accounts_total
        if total == 0:
            return 100 if self.status == "completed" else 0
        return round(100 * self.accounts_processed / total)
