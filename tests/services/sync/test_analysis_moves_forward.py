"""An account's analysis only moves forward, in MongoDB and in the dashboards' cache.

An execution of a job cut off from the network after its lease check (tests/reliability/
test_partition.py) delivers its writes when the network comes back, possibly after a newer execution
finished the job. Its older analysis, a first look among them, must not replace the newer one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import Analysis, SellerAccount
from services.platform.errors import LeaseLost
from services.sync.analysis import analyse_and_cache
from services.sync.cache import analysis_key, read_analysis, write_analysis
from services.sync.first_look import PENDING_KPIS, cache_first_look
from services.sync.progress import FetchProgress
from services.sync.spapi_client import account_clients

NEWER = datetime(2026, 11, 30, 12, 0, 5, 250_000, tzinfo=UTC)
OLDER = NEWER - timedelta(seconds=5)


@pytest.fixture
def account(make_user) -> SellerAccount:
    make_user("u-forward", [("US", "forward-us")])
    return SellerAccount.objects.get(user_id="u-forward")


def stored_and_cached(account, settings, redis_client) -> tuple[Analysis, dict]:
    stored = Analysis.objects.get(user_id=account.user_id, marketplace_id=account.marketplace_id)
    return stored, read_analysis(account.user_id, "US", settings=settings, client=redis_client)


def test_a_first_look_delivered_late_does_not_replace_the_newer_full_analysis(
    account, settings, redis_client
):
    # Given the account's full analysis, computed by the execution that finished the job
    analyse_and_cache(account, NEWER, settings=settings, client=redis_client)

    # When an older execution's first look, computed before it, arrives afterwards
    late = analyse_and_cache(account, OLDER, settings=settings, client=redis_client, pending=PENDING_KPIS)

    # Then nothing was written: MongoDB and the cache keep the full analysis
    assert late is None
    stored, cached = stored_and_cached(account, settings, redis_client)
    assert (stored.complete, stored.pending) == (True, [])
    assert stored.computed_at.replace(tzinfo=UTC) == NEWER.replace(microsecond=250_000)
    assert (cached["complete"], cached["pending"]) == (True, [])
    assert cached["computedAt"] == "2026-11-30T12:00:05.250Z"


def test_a_newer_analysis_replaces_an_older_one(account, settings, redis_client):
    # Given the account's first look
    analyse_and_cache(account, OLDER, settings=settings, client=redis_client, pending=PENDING_KPIS)
    assert stored_and_cached(account, settings, redis_client)[1]["complete"] is False

    # When the full analysis, computed later, is written
    full = analyse_and_cache(account, NEWER, settings=settings, client=redis_client)

    # Then it replaces the first look in both places
    assert full is not None
    stored, cached = stored_and_cached(account, settings, redis_client)
    assert (stored.complete, cached["complete"], cached["pending"]) == (True, True, [])
    assert Analysis.objects(user_id=account.user_id).count() == 1


def test_the_cache_keeps_the_analysis_computed_last(settings, redis_client):
    # Given a cached analysis computed at 12:00:05.250
    newer = {"computedAt": "2026-11-30T12:00:05.250Z", "complete": True}
    assert write_analysis("u-cache", "DE", newer, settings=settings, client=redis_client)

    # When an older one, then the same one again, then a newer one are written
    older = {"computedAt": "2026-11-30T12:00:05.249Z", "complete": False}
    refused = write_analysis("u-cache", "DE", older, settings=settings, client=redis_client)
    again = write_analysis("u-cache", "DE", newer, settings=settings, client=redis_client)
    latest = {"computedAt": "2026-11-30T12:00:06.000Z", "complete": True}
    replaced = write_analysis("u-cache", "DE", latest, settings=settings, client=redis_client)

    # Then only the older one was refused, and the cached value keeps its TTL
    assert (refused, again, replaced) == (False, True, True)
    assert read_analysis("u-cache", "DE", settings=settings, client=redis_client) == latest
    assert 0 < redis_client.ttl(analysis_key(settings, "u-cache", "DE")) <= settings.cache_ttl_seconds


def test_a_cached_value_that_is_not_an_analysis_is_replaced(settings, redis_client):
    # Given a value under the key that no analysis JSON wrote
    redis_client.set(analysis_key(settings, "u-odd", "US"), b"not json")

    # When an analysis is written
    written = write_analysis("u-odd", "US", {"computedAt": "2026-11-30T12:00:00.000Z"}, settings=settings)

    # Then it is stored
    assert written
    cached = read_analysis("u-odd", "US", settings=settings, client=redis_client)
    assert cached == {"computedAt": "2026-11-30T12:00:00.000Z"}


def test_a_first_look_whose_lease_is_lost_after_its_calls_writes_no_analysis(account, settings, redis_client):
    # Given an execution that loses its lease once the first look's SP-API calls have answered
    def lost() -> None:
        raise LeaseLost("job j: the execution with fencing token 3 lost its lease.")

    # When it caches the account's first look
    with pytest.raises(LeaseLost):
        cache_first_look(
            account,
            progress=FetchProgress(),
            settings=settings,
            client=redis_client,
            clock=lambda: datetime.now(UTC),
            clients_for=account_clients,
            check=lost,
        )

    # Then no analysis was stored or cached
    assert Analysis.objects(user_id=account.user_id).count() == 0
    assert read_analysis(account.user_id, "US", settings=settings, client=redis_client) is None
