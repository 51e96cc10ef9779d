"""The leader lease on a real Redis: one holder, renewal, compare-and-delete, expiry."""

from __future__ import annotations

import time

import pytest
import redis

from cron.leader import LeaderLease
from services.platform.redis_pool import key


@pytest.fixture
def lease_name(settings) -> str:
    return key(settings, "scheduler", "leader")


def test_only_one_process_holds_the_lease(redis_client, lease_name):
    # Given two contenders
    a = LeaderLease(redis_client, lease_name, 30)
    b = LeaderLease(redis_client, lease_name, 30)

    # When both campaign, twice
    results = [a.acquire_or_renew(), b.acquire_or_renew(), a.acquire_or_renew(), b.acquire_or_renew()]

    # Then the first keeps it (renewing), the second stays a follower
    assert results == [True, False, True, False]
    assert a.holder() == a.token
    assert 0 < redis_client.pttl(lease_name) <= a.expiry_ms


def test_only_the_holder_can_release_and_the_follower_then_takes_over(redis_client, lease_name):
    # Given a leader and a follower
    a = LeaderLease(redis_client, lease_name, 30)
    b = LeaderLease(redis_client, lease_name, 30)
    assert a.acquire_or_renew()

    # When the follower tries to release, then the leader releases
    assert not b.release()
    assert a.holder() == a.token
    assert a.release()

    # Then the follower's next poll takes the lease
    assert b.acquire_or_renew()
    assert b.holder() == b.token
    assert not a.release()  # compare-and-delete: the old leader cannot delete the new one's key


def test_an_unrenewed_lease_expires_within_one_period(redis_client, lease_name):
    # Given a leader with a 0.5 s lease that stops renewing (it died)
    a = LeaderLease(redis_client, lease_name, 0.5)
    b = LeaderLease(redis_client, lease_name, 0.5)
    assert a.acquire_or_renew()
    assert a.expiry_ms == 400  # one poll (0.1 s) shorter than the period

    # When the follower polls every 0.1 s
    assert b.poll_seconds == 0.1
    started = time.monotonic()
    refused_at = []
    while True:
        asked = time.monotonic()
        if b.acquire_or_renew():
            break
        refused_at.append(asked - started)
        time.sleep(b.poll_seconds)

    # Then it leads at its first poll after the lease expired, so within one lease period (expiry plus
    # one poll; read from when each poll was sent, since a busy machine's late wake-ups are its own),
    # and the old leader learns it lost at its next renewal
    assert all(seconds < a.expiry_ms / 1000 for seconds in refused_at), refused_at
    assert not a.acquire_or_renew()


def test_a_redis_outage_makes_a_follower(lease_name, settings):
    # Given a lease on a Redis that cannot be reached
    down = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    lease = LeaderLease(down, lease_name, 30)

    # When it campaigns
    # Then it does not lead; asked to, it raises
    assert lease.acquire_or_renew() is False
    with pytest.raises(redis.ConnectionError):
        lease.acquire_or_renew(raise_errors=True)
