"""The job lease of the delivery running in this worker thread, as CurrentMessage keeps the message.

Set by actors.job_lease_middleware; read by the job-status middleware (the record's writes carry
the fencing token) and by the sync actor (every write of the job checks the lease first).
"""

from __future__ import annotations

from contextvars import ContextVar

from services.jobs.lease import JobLease

_current: ContextVar[JobLease | None] = ContextVar("job_lease", default=None)


def current_lease() -> JobLease | None:
    """The lease of the job running in this worker thread (None outside a job, or without a lease)."""
    return _current.get()


def set_current_lease(lease: JobLease | None) -> None:
    _current.set(lease)


def current_fence() -> int | None:
    """The fencing token of the running delivery, if it holds a lease."""
    lease = _current.get()
    return lease.token if lease is not None else None
