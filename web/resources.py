"""The job-status routes of DESIGN.md's REST table: thin responders over services.

Errors of the services map to HTTP in web.app (UnknownUserError/UnknownJobError → 404,
JobStateError → 409); values are validated by web.validation before any query. Responders marked
``@seller_may_call`` serve seller-scoped tokens too, and check whose objects they touch
(web.principals); the lists, stats and overview serve operators only.
"""

from __future__ import annotations

import falcon

from services.jobs.json_shape import cancel_json, enqueued_json, hourly_json, job_json, user_status_json
from services.jobs.producer import JobProducer
from services.jobs.queries import JobQueries, StatsSnapshot
from services.platform.errors import UnknownJobError, UnknownUserError
from web import validation
from web.principals import check_visible, principal, seller_may_call


def _unknown_user(user_id: str) -> UnknownUserError:
    return UnknownUserError(f"No user has the id {user_id!r}.")


def _unknown_job(job_id: str) -> UnknownJobError:
    return UnknownJobError(f"No job has the id {job_id!r}.")


class UserStatus:
    query_params = ("limit",)

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    @seller_may_call
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        user_id = validation.user_id(user_id)
        check_visible(req, user_id, lambda: _unknown_user(user_id))
        user = self._queries.get_user(user_id)
        if user is None:
            raise _unknown_user(user_id)
        jobs = self._queries.jobs_for_user(user.user_id, validation.limit(req, 10))
        resp.media = user_status_json(user, jobs)


class Job:
    query_params = ()

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    @seller_may_call
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = self._queries.get_job(validation.job_id(job_id))
        if job is None:
            raise _unknown_job(job_id)
        check_visible(req, job.user_id, lambda: _unknown_job(job_id))
        resp.media = job_json(job)


class JobCancel:
    """200 when the job is cancelled (now or earlier), 202 when it runs on with the cancel requested."""

    query_params = ()

    def __init__(self, producer: JobProducer) -> None:
        self._producer = producer

    @seller_may_call
    def on_delete(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job_id = _own_job(req, self._producer, validation.job_id(job_id))
        cancellation = self._producer.remove_job(job_id)
        resp.status = falcon.HTTP_200 if cancellation.done else falcon.HTTP_202
        resp.media = cancel_json(cancellation)


class JobRetry:
    query_params = ()

    def __init__(self, producer: JobProducer) -> None:
        self._producer = producer

    @seller_may_call
    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        enqueued = self._producer.retry_job(_own_job(req, self._producer, validation.job_id(job_id)))
        resp.status = falcon.HTTP_202
        resp.media = job_json(self._producer.records.get(enqueued.job_id))


def _own_job(req: falcon.Request, producer: JobProducer, job_id: str) -> str:
    """``job_id``, once the caller may see its job (a job it may not see is as unknown as none)."""
    if not principal(req).is_operator:
        try:
            owner = producer.records.get(job_id).user_id
        except UnknownJobError:
            raise _unknown_job(job_id) from None
        check_visible(req, owner, lambda: _unknown_job(job_id))
    return job_id


class Recent:
    query_params = ("limit", "status")

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        jobs = self._queries.recent(validation.limit(req, 50), validation.status(req))
        resp.media = {"jobs": [job_json(j) for j in jobs]}


class Failed:
    query_params = ("limit",)

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        jobs = self._queries.failed(validation.limit(req, 100))
        resp.media = {"jobs": [job_json(j) for j in jobs]}


class QueueStats:
    query_params = ()

    def __init__(self, snapshot: StatsSnapshot) -> None:
        self._snapshot = snapshot

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._snapshot.get_json()


class Overview:
    """What the dashboard shows beside the queue stats: completed/failed per hour and freshness."""

    query_params = ()

    def __init__(self, queries: JobQueries) -> None:
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "hourly": hourly_json(self._queries.hourly()),
            "freshness": self._queries.freshness(),
        }


class Sync:
    """Manual enqueue: every id must name a user (else 404 naming them, nothing enqueued)."""

    query_params = ()
    body_methods = ("POST",)

    def __init__(self, queries: JobQueries, producer: JobProducer) -> None:
        self._queries = queries
        self._producer = producer

    @seller_may_call
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        user_ids = validation.sync_body(req.get_media())
        unknown = set(self._queries.missing_users(user_ids))
        # Another user's id is as unknown to a seller as a missing one, in the same order.
        missing = [u for u in user_ids if u in unknown or not principal(req).sees(u)]
        if missing:
            raise UnknownUserError(f"No user has the id(s) {', '.join(map(repr, missing[:10]))}.")
        results = [self._producer.enqueue_user(u, "manual") for u in user_ids]
        resp.status = falcon.HTTP_202
        resp.media = {"jobs": [enqueued_json(r) for r in results]}
