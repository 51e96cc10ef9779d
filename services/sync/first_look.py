"""An account's first look: a quick analysis cached before a first sync's orders backfill.

A first sync (an account with no orders watermark yet) must read 30 days of orders, and getOrders
refills one page of 100 a minute after its burst of 20: a seller with 10,000 orders waits about 80
minutes for the backfill. The first look does not wait for it. It reads what the quick calls give
(getOrderMetrics' 30 daily sums, one call; the FBA inventory summaries, a page or a few) and caches
an analysis whose ``complete`` is false and whose ``pending`` names the KPIs that need the stored
orders (``cancellation_rate_30d``) or the per-SKU velocity (``low_stock``); those are null until the
full analysis replaces the first look at the end of the backfill.

The steps it fetched are marked done in the job's :class:`~services.sync.fetch.FetchProgress`, so the
backfill does not fetch them again, and so is the first look itself: a job interrupted after it
(a quota wait, a dead worker) resumes the backfill and keeps the cached first look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis

from models import SellerAccount
from services.platform.errors import LeaseLost, QuotaWait
from services.platform.settings import Settings
from services.platform.worker_metrics import WorkerMetrics
from services.sync.amazon_time import parse_time
from services.sync.analysis import AnalysisInputs, analyse_and_cache, stock_of
from services.sync.catalog import first_sync, sync_inventory, sync_metrics
from services.sync.progress import FetchProgress
from services.sync.spapi_client import AccountClients

logger = logging.getLogger(__name__)

#: The KPIs a first look cannot give yet (null in its JSON until the full analysis).
PENDING_KPIS = ("cancellation_rate_30d", "low_stock")
#: The FetchProgress field that holds when the job cached the account's first look.
FIRST_LOOK_FIELD = "first_look"
#: In the backfill that follows a first look, a quota wait longer than this share of
#: SP_API_QUOTA_MAX_WAIT_SECONDS frees the worker thread instead of sleeping in it: nobody waits for
#: the backfill any more, and the seconds-long waits of getOrders and per-SKU getOrderMetrics would
#: otherwise keep a thread from the scheduled jobs (bench.first_look: +18 % on the wave's duration).
BACKFILL_SLEEP_SHARE = 0.1
#: Seconds of real time: a handoff costs a redelivery (the delay queue's poll, up to the worker's
#: one-second timeout, and the job's restart), which no time-scaled simulation compresses; a wait
#: shorter than this is slept even in a backfill (in bench.freshness, an hour a minute, a tenth of
#: the scaled wait is 8 ms, and handing back waits that short only adds redeliveries).
HANDOFF_FLOOR_SECONDS = 0.5


def backfill_settings(settings: Settings) -> Settings:
    """The settings of the SP-API clients of a backfill: the same, with a shorter in-thread sleep
    (a share of the usual one, but never under the floor, nor over the usual one)."""
    usual = settings.sp_api_quota_max_wait_seconds
    shorter = min(usual, max(usual * BACKFILL_SLEEP_SHARE, HANDOFF_FLOOR_SECONDS))
    return replace(settings, sp_api_quota_max_wait_seconds=shorter)


def needs_first_look(account: SellerAccount) -> bool:
    """Whether the account's sync is a first one: no orders stored up to a watermark yet."""
    return first_sync(account)


@dataclass(frozen=True)
class FirstLook:
    """When the job cached an account's first look, or why it could not."""

    at: datetime | None = None
    error: Exception | None = None
    #: True when this delivery cached it (False: an earlier delivery of the job did).
    new: bool = False
    #: The metrics rows this delivery fetched for it: the full analysis's too, at the backfill's end.
    metrics: list[dict[str, Any]] | None = None
    #: The inventory items it fetched: where the backfill's velocity step starts.
    items: list[dict[str, Any]] | None = None


def cache_first_look(
    account: SellerAccount,
    *,
    progress: FetchProgress,
    settings: Settings,
    client: redis.Redis,
    clock: Callable[[], datetime],
    clients_for: Callable[..., AccountClients],
    check: Callable[[], None] = lambda: None,
) -> FirstLook:
    """Cache the account's first look, once per job.

    Raises QuotaWait (the job resumes here later), and LeaseLost from ``check`` (the job lease's:
    called after the analysis's time is taken, so that a stored analysis's time is always one at
    which its execution still held the lease). Any other failure is returned, not raised: it is the
    account's outcome in this attempt (the full sync would meet it again), and the other accounts
    still get their first looks.
    """
    cached = cached_first_look(progress)
    if cached is not None:
        return cached
    # What the quick steps fetched is the analysis's input: it is not read back from the store.
    inputs, items = AnalysisInputs(), None
    # Each step done is marked, and written with the first look's time (one write), or on the way
    # out of a first look that stops: a redelivery skips them either way.
    try:
        with clients_for(account, settings) as clients:
            if progress.get("done:metrics") is None:
                inputs.metrics = sync_metrics(account, clients, clock())
                progress.mark("done:metrics", str(len(inputs.metrics)))
            if progress.get("done:inventory") is None:
                items = sync_inventory(account, clients, clock())
                inputs.stock = stock_of(items)
                progress.mark("done:inventory", str(len(items)))
    except LeaseLost:
        raise
    except QuotaWait:
        progress.save()
        raise
    except Exception as exc:
        progress.save()
        return FirstLook(error=exc)
    now = clock()
    check()
    cached = analyse_and_cache(
        account, now, settings=settings, client=client, pending=PENDING_KPIS, inputs=inputs
    )
    progress.set(FIRST_LOOK_FIELD, now.astimezone(UTC).isoformat())  # to the microsecond, as the record
    if cached is not None:
        logger.info("Cached the first look of account %s of user %s.", account.label, account.user_id)
    else:  # an execution that lost its job in between: the newer one's analysis stays
        logger.info(
            "Did not cache the first look of account %s of user %s: a newer analysis is stored.",
            account.label,
            account.user_id,
        )
    return FirstLook(at=now, new=True, metrics=inputs.metrics, items=items)


def cached_first_look(progress: FetchProgress) -> FirstLook | None:
    """The first look an earlier delivery of the job cached, if any (no store round trip)."""
    cached = progress.get(FIRST_LOOK_FIELD)
    return None if cached is None else FirstLook(at=parse_time(cached))


def note_first_analysis(account: SellerAccount, at: datetime, kind: str, metrics: WorkerMetrics) -> None:
    """Record the account's first analysis since it was connected, once, and observe the seconds since
    its connection (``kind``: first_look or full) in /metrics. No store round trip once recorded."""
    if account.first_analysis_at is not None or account.connected_at is None:
        return
    account.first_analysis_at = at
    if not SellerAccount.objects(id=account.id, first_analysis_at=None).update_one(set__first_analysis_at=at):
        return  # another delivery of the job recorded it first
    connected = account.connected_at
    if connected.tzinfo is None:
        connected = connected.replace(tzinfo=UTC)
    metrics.observe("first_analysis_seconds", {"kind": kind}, max((at - connected).total_seconds(), 0.0))
