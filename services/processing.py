"""``process_user_data``: sync every active seller account of one user (the seed's processUserData.js).

For each account: fetch (SP-API) → analyse → write the Redis cache → mark the account complete, and
report the account's result on the job record. One account's failure does not stop the others:
- revoked authorisation (LWA invalid_grant/invalid_client, 403) marks the account ``auth_error`` and
  is final for this job;
- any other failure is recorded and, once every account had its turn, raised for the whole job
  (TransientSpApiError: Dramatiq retries the job; PermanentSpApiError: the job fails).
A retry of the same job resumes: accounts this job already finished are skipped. They are kept in
Redis (hash ``<ns>:job:<job_id>:done``, marketplace id → status) as well as on the record, so they
survive a worker that dies even where the record is out of reach.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import mongoengine
import redis

from models import AccountResult, SellerAccount, User
from services import cache
from services.analysis import analyse_account, analysis_json
from services.errors import (
    AccountAuthError,
    CorruptDocumentError,
    JobCancelled,
    PermanentSpApiError,
    QuotaWait,
    TransientSpApiError,
    UnknownUserError,
)
from services.job_status import JobRecords, job_error, utcnow
from services.redis_pool import get_redis, key
from services.settings import Settings, get_settings
from services.spapi import FetchProgress, fetch_account
from services.spapi_client import AccountClients, account_clients

logger = logging.getLogger(__name__)

#: Account results that end the account's part in a job: a retry of the job skips them.
FINAL_ACCOUNT_STATUSES = ("completed", "auth_error")
#: Seconds a job's done-accounts hash outlives its last write (covers every retry's backoff).
DONE_SET_TTL = 7 * 86_400


@dataclass
class ProcessResult:
    user_id: str
    completed: list[str] = field(default_factory=list)
    auth_errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def done_key(settings: Settings, job_id: str) -> str:
    return key(settings, "job", job_id, "done")


def process_user_data(
    user_id: str,
    *,
    job_id: str | None = None,
    settings: Settings | None = None,
    records: JobRecords | None = None,
    client: redis.Redis | None = None,
    clock: Callable[[], datetime] = utcnow,
    clients_for: Callable[..., AccountClients] = account_clients,
) -> ProcessResult:
    """Sync every active account of ``user_id``; see the module docstring for the failure rules."""
    settings = settings or get_settings()
    records = records or JobRecords(settings)
    client = client or get_redis(settings)
    user = User.objects(user_id=user_id).first()
    if user is None:
        raise UnknownUserError(f"no user with id {user_id!r}")

    accounts = list(SellerAccount.objects(user_id=user_id, status="active").order_by("region", "country"))
    _check_documents(user_id, accounts)
    done: dict[str, str] = {}  # marketplace_id -> final status, from the record and from Redis
    recorded: set[str] = set()
    if job_id:
        record = records.plan_accounts(job_id, [_result_of(a) for a in accounts])
        if record is not None:
            recorded = {a.marketplace_id for a in record.accounts if a.status in FINAL_ACCOUNT_STATUSES}
        done = {k.decode(): v.decode() for k, v in client.hgetall(done_key(settings, job_id)).items()}
        done.update(dict.fromkeys(recorded - done.keys(), "completed"))

    result = ProcessResult(user_id)
    failures: list[tuple[SellerAccount, Exception]] = []
    for account in accounts:
        if account.marketplace_id in done:
            result.skipped.append(account.label)
            if job_id and account.marketplace_id not in recorded:
                # Finished by an attempt whose record we cannot see (a worker that died, another store).
                records.record_account(job_id, _result_of(account, status=done[account.marketplace_id]))
            continue
        if job_id and records.is_cancel_requested(job_id):
            raise JobCancelled(f"job {job_id} was cancelled before account {account.label}")
        if User.objects(user_id=user_id).only("user_id").first() is None:
            raise UnknownUserError(
                f"user {user_id!r} was deleted during the job, before account {account.label}"
            )
        outcome, error = _sync_account(account, settings, client, clock, clients_for, job_id)
        if outcome.status == "completed":
            result.completed.append(account.label)
        elif outcome.status == "auth_error":
            result.auth_errors.append(account.label)
        else:
            failures.append((account, error))
        if job_id:
            if outcome.status in FINAL_ACCOUNT_STATUSES:
                pipe = client.pipeline()
                pipe.hset(done_key(settings, job_id), account.marketplace_id, outcome.status)
                pipe.expire(done_key(settings, job_id), DONE_SET_TTL)
                pipe.execute()
            records.record_account(job_id, outcome)

    if failures:
        summary = "; ".join(f"{account.label}: {error}" for account, error in failures)
        message = f"{len(failures)} of {len(accounts)} accounts failed: {summary}"
        permanent = all(isinstance(error, PermanentSpApiError) for _, error in failures)
        raise (PermanentSpApiError if permanent else TransientSpApiError)(message)

    User.objects(user_id=user_id).update_one(set__last_synced_at=clock())
    return result


def _sync_account(
    account: SellerAccount,
    settings: Settings,
    client: redis.Redis,
    clock: Callable[[], datetime],
    clients_for: Callable[..., AccountClients],
    job_id: str | None = None,
) -> tuple[AccountResult, Exception | None]:
    """Fetch, analyse, cache and mark one account; raises only QuotaWait (the result says the rest).

    QuotaWait is not an outcome: the job hands its worker back and resumes this account's fetch later.
    """
    started = time.monotonic()
    outcome = _result_of(account)
    error: Exception | None = None
    try:
        with clients_for(account, settings) as clients:
            progress = FetchProgress.for_job(client, settings, job_id, str(account.id)) if job_id else None
            fetched = fetch_account(account, clients, clock(), progress)
        analysis = analyse_account(account, clock())
        cache.write_analysis(
            account.user_id, account.country, analysis_json(analysis), settings=settings, client=client
        )
        SellerAccount.objects(id=account.id).update_one(set__last_synced_at=clock(), unset__last_error=True)
        outcome.status = "completed"
        outcome.orders_fetched = fetched.orders_fetched
    except QuotaWait as exc:
        raise QuotaWait(f"{account.label}: {exc}", exc.delay_ms) from None
    except AccountAuthError as exc:
        error = exc
        SellerAccount.objects(id=account.id).update_one(set__status="auth_error", set__last_error=str(exc))
        outcome.status, outcome.error = "auth_error", job_error(exc)
        logger.warning(
            "Account %s of user %s lost its authorisation: %s", account.label, account.user_id, exc
        )
    except Exception as exc:
        error = exc
        outcome.status, outcome.error = "failed", job_error(exc)
        logger.warning(
            "Account %s of user %s failed: %s",
            account.label,
            account.user_id,
            exc,
            exc_info=not _expected(exc),
        )
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome, error


def _check_documents(user_id: str, accounts: list[SellerAccount]) -> None:
    """Raise CorruptDocumentError naming every stored account of the user that breaks its schema."""
    problems = []
    for account in accounts:
        try:
            account.validate()
        except mongoengine.ValidationError as exc:
            fields = "; ".join(f"{name}: {error}" for name, error in sorted((exc.to_dict() or {}).items()))
            problems.append(f"account {account.id} ({fields or exc.message})")
    if problems:
        raise CorruptDocumentError(f"stored documents of user {user_id!r} are corrupt: {', '.join(problems)}")


def _result_of(account: SellerAccount, status: str = "pending") -> AccountResult:
    return AccountResult(
        account_id=str(account.id),
        marketplace_id=account.marketplace_id,
        region=account.region,
        country=account.country,
        status=status,
    )


def _expected(exc: Exception) -> bool:
    return isinstance(exc, TransientSpApiError | PermanentSpApiError)
