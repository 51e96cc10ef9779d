"""``process_user_data``: sync every active seller account of one user.

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

from models import AccountResult, SellerAccount, User, utcnow
from services.jobs.lease import JobLease
from services.jobs.records import JobRecords, job_error
from services.platform.errors import (
    AccountAuthError,
    CorruptDocumentError,
    JobCancelled,
    LeaseLost,
    PermanentSpApiError,
    QuotaWait,
    TransientSpApiError,
    UnknownUserError,
)
from services.platform.forward_only import moving_forward
from services.platform.redis_pool import get_redis, key
from services.platform.settings import Settings
from services.platform.worker_metrics import WorkerMetrics
from services.sync.amazon_time import parse_time
from services.sync.analysis import AnalysisInputs, analyse_and_cache
from services.sync.fenced_calls import fenced
from services.sync.fetch import FetchResult, fetch_account
from services.sync.first_look import (
    FIRST_LOOK_FIELD,
    FirstLook,
    backfill_settings,
    cache_first_look,
    cached_first_look,
    needs_first_look,
    note_first_analysis,
)
from services.sync.progress import FetchProgress
from services.sync.spapi_client import AccountClients, account_clients

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
    settings: Settings,
    job_id: str | None = None,
    records: JobRecords | None = None,
    client: redis.Redis | None = None,
    clock: Callable[[], datetime] = utcnow,
    clients_for: Callable[..., AccountClients] = account_clients,
    on_first_look: Callable[[], None] | None = None,
    lease: JobLease | None = None,
    last_result_with_finish: bool = False,
) -> ProcessResult:
    """Sync every active account of ``user_id``; see the module docstring for the failure rules.

    Accounts synced for the first time get their first look cached before any account's backfill
    (services.sync.first_look); ``on_first_look`` is then called (the actor lets the job leave the
    priority lane once it waits for a quota). With ``lease`` (services.jobs.lease), every write is
    preceded by its check: an execution that lost the lease raises LeaseLost before writing.
    ``last_result_with_finish``: the caller finishes the job's record in this process (the actor's
    job-status middleware), so the last account's result is written with it (JobRecords.finish).
    """
    job = _Job(user_id, job_id, settings, records or JobRecords(settings), client or get_redis(settings))
    job.clock, job.lease, job.last_result_with_finish = clock, lease, last_result_with_finish
    job.clients_for = fenced(clients_for, lease.check) if lease is not None else clients_for
    accounts = list(SellerAccount.objects(user_id=user_id, status="active").order_by("region", "country"))
    # The user is read only when it has no account to sync: a user whose document is gone but whose
    # accounts are not fails at its last write (note_user_synced), with the same error.
    if not accounts and User.objects(user_id=user_id).only("user_id").first() is None:
        raise UnknownUserError(f"no user with id {user_id!r}")
    _check_documents(user_id, accounts)
    done = job.done_accounts()
    first_looks = job.first_looks([a for a in accounts if a.marketplace_id not in done], on_first_look)
    recorded = job.plan(accounts, done, first_looks)

    result, failures = _sync_accounts(job, accounts, done, recorded, first_looks)
    _raise_failures(failures, len(accounts))
    job.note_user_synced()
    return result


def _sync_accounts(
    job: _Job,
    accounts: list[SellerAccount],
    done: dict[str, str],
    recorded: set[str],
    first_looks: dict[str, FirstLook],
) -> tuple[ProcessResult, list[tuple[SellerAccount, Exception]]]:
    """Each account in turn (those an earlier attempt finished are skipped): the result, and the
    failures that decide the job's end."""
    result = ProcessResult(job.user_id)
    failures: list[tuple[SellerAccount, Exception]] = []
    for position, account in enumerate(accounts, 1):
        if account.marketplace_id in done:
            result.skipped.append(account.label)
            if account.marketplace_id not in recorded:
                # Finished by an attempt whose record we cannot see (a worker that died, another store).
                job.record_finished(account, done[account.marketplace_id])
            continue
        job.check_still_wanted(account)
        outcome, error = _sync_account(account, job, first_looks.get(account.marketplace_id))
        if outcome.status == "completed":
            result.completed.append(account.label)
        elif outcome.status == "auth_error":
            result.auth_errors.append(account.label)
        else:
            failures.append((account, error))
        job.record(account, outcome, last=position == len(accounts))
    return result, failures


@dataclass
class _Job:
    """One delivery of a job: its ids, collaborators, and each account's fetch progress."""

    user_id: str
    job_id: str | None
    settings: Settings
    records: JobRecords
    client: redis.Redis
    clock: Callable[[], datetime] = utcnow
    clients_for: Callable[..., AccountClients] = account_clients
    lease: JobLease | None = None
    _progress: dict[str, FetchProgress] = field(default_factory=dict)
    #: The account (marketplace id) that the last still-wanted check covers. The delivery's first
    #: account is covered by its start (which a cancelled job's record refuses), a moment before.
    _covered: str | None = None
    #: Whether the job's finish, in this process, writes its last account's result (one write less).
    last_result_with_finish: bool = False
    #: The accounts (marketplace ids) the record lists, as its plan left it.
    _on_record: set[str] = field(default_factory=set)

    @property
    def fence(self) -> int | None:
        """The fencing token the record's writes are conditional on (None: no lease, no condition)."""
        return self.lease.token if self.lease is not None else None

    def check(self) -> None:
        """Raise LeaseLost when this execution may no longer write (no round trip)."""
        if self.lease is not None:
            self.lease.check()

    @property
    def metrics(self) -> WorkerMetrics:
        return WorkerMetrics(self.client, self.settings)

    def progress(self, account: SellerAccount) -> FetchProgress:
        """The account's fetch progress: in Redis under the job, or in memory without a job."""
        name = str(account.id)
        if name not in self._progress:
            self._progress[name] = (
                FetchProgress.for_job(self.client, self.settings, self.job_id, name)
                if self.job_id
                else FetchProgress()
            )
        return self._progress[name]

    def done_accounts(self) -> dict[str, str]:
        """Accounts an earlier attempt of the job finished: marketplace id → final status (Redis)."""
        if not self.job_id:
            return {}
        stored = self.client.hgetall(done_key(self.settings, self.job_id))
        return {k.decode(): v.decode() for k, v in stored.items()}

    def plan(
        self, accounts: list[SellerAccount], done: dict[str, str], looks: dict[str, FirstLook]
    ) -> set[str]:
        """Put the accounts on the record, with the first looks just cached, on the job's first attempt
        (one write); on a later one, record the new first looks. Returns the accounts the record knows
        as finished, having added them to ``done`` (the record outlives a lost done set)."""
        if not self.job_id:
            return set()
        self.check()
        looked_at = {marketplace_id: look.at for marketplace_id, look in looks.items()}
        planned = [_result_of(a, first_look_at=looked_at.get(a.marketplace_id)) for a in accounts]
        record = self.records.plan_accounts(self.job_id, planned, fence=self.fence)
        if record is None:
            self._on_record = {a.marketplace_id for a in accounts}
            return set()
        self._on_record = {a.marketplace_id for a in record.accounts}
        for marketplace_id, look in looks.items():
            if look.new:
                self.records.record_first_look(self.job_id, marketplace_id, look.at, fence=self.fence)
        recorded = {a.marketplace_id for a in record.accounts if a.status in FINAL_ACCOUNT_STATUSES}
        done.update(dict.fromkeys(recorded - done.keys(), "completed"))
        return recorded

    def first_looks(
        self, accounts: list[SellerAccount], then: Callable[[], None] | None
    ) -> dict[str, FirstLook]:
        """Cache the first look of each of ``accounts`` whose sync is a first one, before any backfill;
        then call ``then`` (if there was any). Marketplace id → the first look."""
        looks = {}
        for account in accounts:
            if not needs_first_look(account):
                continue
            # A backfill redelivered after a quota wait finds its first look cached: nothing to do,
            # and no store round trip (it comes back once a getOrders page, up to 80 times).
            cached = cached_first_look(self.progress(account))
            if cached is None:
                self.check_still_wanted(account)
            looks[account.marketplace_id] = cached or self.first_look(account)
        if looks and then is not None:
            then()
        return looks

    def first_look(self, account: SellerAccount) -> FirstLook:
        look = cache_first_look(
            account,
            progress=self.progress(account),
            settings=self.settings,
            client=self.client,
            clock=self.clock,
            clients_for=self.clients_for,
            check=self.check,
        )
        if look.new:  # the record gets its time with the plan (plan)
            note_first_analysis(account, look.at, "first_look", self.metrics)
        return look

    def check_still_wanted(self, account: SellerAccount) -> None:
        """Raise JobCancelled or UnknownUserError before the account when the job must stop.

        Checked when the job moves on to another account: not before the delivery's first one (its
        record was started a moment before), nor between an account's first look and its backfill
        (two store round trips saved on each such step).
        """
        covered, self._covered = self._covered, account.marketplace_id
        if covered in (None, account.marketplace_id):
            return
        if self.job_id and self.records.is_cancel_requested(self.job_id):
            raise JobCancelled(f"job {self.job_id} was cancelled before account {account.label}")
        if User.objects(user_id=self.user_id).only("user_id").first() is None:
            raise UnknownUserError(
                f"user {self.user_id!r} was deleted during the job, before account {account.label}"
            )

    def record_finished(self, account: SellerAccount, status: str) -> None:
        """Put on the record an account that an earlier attempt finished with ``status``."""
        if self.job_id:
            self.check()
            outcome = _result_of(account, status=status)
            self.records.record_account(self.job_id, outcome, fence=self.fence)

    def note_user_synced(self) -> None:
        """The user's ``last_synced_at``: now, unless a newer execution already set a later time.
        Raises UnknownUserError when the user is gone (read only when the write matched nothing)."""
        self.check()
        synced_at = self.clock()
        users = User.objects(user_id=self.user_id)
        if users(**moving_forward("last_synced_at", synced_at)).update_one(set__last_synced_at=synced_at):
            return
        if users.only("user_id").first() is None:
            raise UnknownUserError(f"user {self.user_id!r} was deleted during the job")

    def record(self, account: SellerAccount, outcome: AccountResult, *, last: bool = False) -> None:
        """Report the account's outcome on the record; a final one also in the job's done set.
        The ``last`` account's goes with the job's finish when that is written in this process."""
        if not self.job_id:
            return
        self.check()
        if outcome.status in FINAL_ACCOUNT_STATUSES:
            pipe = self.client.pipeline(transaction=False)  # one round trip; no MULTI/EXEC needed
            pipe.hset(done_key(self.settings, self.job_id), account.marketplace_id, outcome.status)
            pipe.expire(done_key(self.settings, self.job_id), DONE_SET_TTL)
            pipe.execute()
        if last and self.last_result_with_finish and account.marketplace_id in self._on_record:
            self.records.record_account_with_finish(self.job_id, outcome)
        else:
            self.records.record_account(self.job_id, outcome, fence=self.fence)


def _sync_account(
    account: SellerAccount, job: _Job, first_look: FirstLook | None = None
) -> tuple[AccountResult, Exception | None]:
    """Fetch, analyse, cache and mark one account; raises only QuotaWait (the result says the rest).

    QuotaWait is not an outcome: the job hands its worker back and resumes this account's fetch later.
    A first look that failed is the account's outcome: its error is handled as the fetch's would be.
    """
    started = time.monotonic()
    outcome = _result_of(account)
    progress = job.progress(account)
    first_look = first_look or FirstLook()
    # A first look cached by an earlier attempt whose backfill has finished since: the progress says when.
    outcome.first_look_at = first_look.at or parse_time(progress.get(FIRST_LOOK_FIELD))
    error: Exception | None = None
    try:
        if first_look.error is not None:
            raise first_look.error
        settings = backfill_settings(job.settings) if outcome.first_look_at else job.settings
        with job.clients_for(account, settings) as clients:
            fetched = fetch_account(account, clients, job.clock(), progress, first_look.items)
        if fetched.metrics is None:
            fetched.metrics = first_look.metrics
        outcome.status, outcome.analysed_at = "completed", _analyse(account, job, fetched)
        outcome.orders_fetched = fetched.orders_fetched
    except QuotaWait as exc:
        raise QuotaWait(f"{account.label}: {exc}", exc.delay_ms) from None
    except LeaseLost:
        raise  # not the account's outcome: this execution stops writing
    except AccountAuthError as exc:
        job.check()
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


def _analyse(account: SellerAccount, job: _Job, fetched: FetchResult) -> datetime:
    """Analyse and cache the fetched account, then note its sync; returns when.

    The orders watermark the fetch reached and the sync's time are written together, each only
    forward (``$max``: an execution that woke up late cannot move either back).
    """
    analysed_at = job.clock()
    job.check()  # after the clock: the analysis's time is one at which this execution held the lease
    inputs = AnalysisInputs(metrics=fetched.metrics, stock=fetched.stock, orders=fetched.orders)
    analyse_and_cache(account, analysed_at, settings=job.settings, client=job.client, inputs=inputs)
    forward = {"last_synced_at": analysed_at}
    if fetched.watermark is not None:
        forward["orders_cursor"] = fetched.watermark
        account.orders_cursor = fetched.watermark
    SellerAccount._get_collection().update_one(
        {"_id": account.id}, {"$max": forward, "$unset": {"last_error": ""}}
    )
    note_first_analysis(account, analysed_at, "full", job.metrics)
    return analysed_at


def _raise_failures(failures: list[tuple[SellerAccount, Exception]], accounts: int) -> None:
    """Once every account had its turn: the job fails (permanent) or is retried (transient)."""
    if not failures:
        return
    summary = "; ".join(f"{account.label}: {error}" for account, error in failures)
    message = f"{len(failures)} of {accounts} accounts failed: {summary}"
    permanent = all(isinstance(error, PermanentSpApiError) for _, error in failures)
    raise (PermanentSpApiError if permanent else TransientSpApiError)(message)


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


def _result_of(
    account: SellerAccount, status: str = "pending", first_look_at: datetime | None = None
) -> AccountResult:
    return AccountResult(
        account_id=str(account.id),
        marketplace_id=account.marketplace_id,
        region=account.region,
        country=account.country,
        status=status,
        first_look_at=first_look_at,
    )


def _expected(exc: Exception) -> bool:
    return isinstance(exc, TransientSpApiError | PermanentSpApiError)
