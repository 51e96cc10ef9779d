"""The shared SP-API quota: Redis token buckets that every worker process draws from."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from services.sync.quotas import SEND_MARGIN_SECONDS, USAGE_PLANS, QuotaBuckets
from tests.support import settings_env, start_child


@pytest.fixture
def quotas(settings, redis_client) -> QuotaBuckets:
    return QuotaBuckets(redis_client, settings)


def test_a_bucket_serves_its_burst_then_queues_callers_at_the_documented_rate(redis_client, settings):
    # Given a fresh getOrders bucket (burst 20, 0.0167/s, 50 times faster: a token every 1.2 s, long
    # beside the few ms between two calls even on a loaded machine, which the bucket refills during)
    settings = replace(settings, sp_api_quota_time_scale=50.0)
    quotas = QuotaBuckets(redis_client, settings)
    bucket = quotas.bucket("Atzr|sandbox-unit", "na", "getOrders")
    interval = 1 / (USAGE_PLANS["getOrders"].rate * settings.sp_api_quota_time_scale)

    # When 22 callers reserve a token with a generous max wait
    waits = [quotas.reserve(bucket, "getOrders", max_wait=5.0) for _ in range(22)]

    # Then the burst is served at once and the next callers queue one interval apart
    assert all(r.taken for r in waits)
    assert [r.wait for r in waits[:19]] == [0.0] * 19
    assert waits[20].wait - waits[19].wait == pytest.approx(interval, rel=0.2)
    assert waits[21].wait - waits[20].wait == pytest.approx(interval, rel=0.2)


def test_a_token_due_later_than_the_max_wait_is_not_taken(quotas):
    bucket = quotas.bucket("Atzr|sandbox-unit", "na", "getOrders")
    for _ in range(20):
        quotas.reserve(bucket, "getOrders", max_wait=0.0)

    # The next token is ~60 ms away at the test scale: more than a 10 ms max wait
    first = quotas.reserve(bucket, "getOrders", max_wait=0.01)
    again = quotas.reserve(bucket, "getOrders", max_wait=0.01)
    assert not first.taken and first.wait > 0.01
    # Nothing was queued: a queued token would put the next one a whole interval (~60 ms) later; time
    # passing between the two calls (long on a loaded machine) only shortens the second wait
    assert not again.taken and again.wait <= first.wait + 0.01


def test_a_429_empties_the_bucket_with_a_debt_that_doubles_and_a_success_ends_the_strikes(quotas, settings):
    bucket = quotas.bucket("Atzr|sandbox-unit", "na", "getOrders")
    interval = 1 / (USAGE_PLANS["getOrders"].rate * settings.sp_api_quota_time_scale)

    # One 429 on a full bucket: the next token is one refill (plus the send margin) away
    assert quotas.throttled(bucket, "getOrders") == 1
    first = quotas.reserve(bucket, "getOrders", max_wait=1.0).wait
    assert first == pytest.approx(interval + SEND_MARGIN_SECONDS, rel=0.3)
    # Two more in a row add 2 and 4 intervals of debt on top of the token just queued
    assert quotas.throttled(bucket, "getOrders") == 2
    assert quotas.throttled(bucket, "getOrders") == 3
    assert quotas.reserve(bucket, "getOrders", max_wait=0.0).wait >= 5 * interval

    quotas.served(bucket, "0.0167")
    assert quotas.throttled(bucket, "getOrders") == 1


def test_the_rate_limit_header_refines_the_rate_and_the_key_never_holds_the_token(
    quotas, settings, redis_client
):
    bucket = quotas.bucket("Atzr|sandbox-secret-seller", "eu", "getOrderMetrics")
    assert "secret-seller" not in bucket and bucket.startswith(f"{settings.redis_namespace}:quota:eu:")
    quotas.reserve(bucket, "getOrderMetrics", max_wait=1.0)

    quotas.served(bucket, "5.0")  # Amazon grants this seller 10x the documented rate

    assert quotas.state(bucket).rate == pytest.approx(5.0 * settings.sp_api_quota_time_scale)
    quotas.served(bucket, "not-a-number")  # a malformed header changes nothing
    assert quotas.state(bucket).rate == pytest.approx(5.0 * settings.sp_api_quota_time_scale)


def test_three_worker_processes_on_one_seller_share_one_quota(settings, sandbox):
    # Given three processes that each make 16 getOrders calls for the same seller at the same moment,
    # their bucket refilling at half the sandbox's speed: at 1000x a token is 60 ms, less than a loaded
    # machine may hold a call between taking its token and sending it (Amazon's minute dwarfs that)
    calls, processes, scale = 16, 3, settings.sp_api_quota_time_scale / 2
    start = time.time() + 4.0  # after every process has imported and fetched its LWA token
    env = settings_env(settings, SANDBOX_TIME_SCALE="1000", SP_API_QUOTA_TIME_SCALE=str(scale))
    children = [
        start_child(
            [sys.executable, "-m", "tests.services.sync.quota_caller", "shared-us", str(calls), str(start)],
            env=env,  # (SANDBOX_TIME_SCALE: 0.0, unset, does not parse back)
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))

    # Then Amazon (the sandbox) throttled none of them: the three drew from one bucket
    stats = sandbox.state.get_stats()["shared-us"]["getOrders"]
    assert stats == {"served": calls * processes, "throttled": 0, "failed": 0}
    # And together they took at least as long as one bucket allows: 45 calls after the start, 20 from
    # the (refilled) burst, the other 25 at 16.7/s. Three unshared buckets would finish at once.
    plan = USAGE_PLANS["getOrders"]
    minimum = ((calls - 1) * processes - plan.burst) / (plan.rate * scale)
    elapsed = max(r["done_at"] for r in results) - start
    assert elapsed >= minimum * 0.9, (elapsed, minimum)


def test_an_answer_that_changes_nothing_sends_nothing(quotas, settings, redis_client):
    # Given a fresh bucket (a new seller, or one idle past its TTL) and a token reserved from it
    bucket = quotas.bucket("Atzr|sandbox-quiet", "na", "getOrders")
    reservation = quotas.reserve(bucket, "getOrders", max_wait=1.0)
    before = _commands(redis_client)

    # When Amazon answers with the documented rate and no 429 was recorded
    quotas.served(bucket, "0.0167", reservation)

    # Then nothing is sent, and the bucket still refills at the documented rate
    assert _commands(redis_client) == before
    assert quotas.state(bucket).rate is None
    assert quotas.reserve(bucket, "getOrders", max_wait=1.0).rate == pytest.approx(
        USAGE_PLANS["getOrders"].rate * settings.sp_api_quota_time_scale
    )


def test_an_answer_with_a_new_rate_after_a_429_stores_the_rate_and_ends_the_strikes(
    quotas, settings, redis_client
):
    # Given a bucket with a 429 recorded, and a token reserved from it
    bucket = quotas.bucket("Atzr|sandbox-loud", "na", "getOrderMetrics")
    quotas.throttled(bucket, "getOrderMetrics")
    reservation = quotas.reserve(bucket, "getOrderMetrics", max_wait=5.0)
    assert reservation.strikes == 1

    # When Amazon answers with a higher rate than the documented one
    quotas.served(bucket, "5.0", reservation)

    # Then the strikes end and the bucket refills at the new rate
    state = quotas.state(bucket)
    assert state.strikes is None
    assert state.rate == pytest.approx(5.0 * settings.sp_api_quota_time_scale)


def _commands(client) -> int:
    """How many scripts, GETs and SETs the server has run (what ``served`` would send)."""
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "get", "set"))
