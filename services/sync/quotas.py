"""SP-API usage plans as token buckets in Redis, shared by every worker process and thread.

Amazon throttles each operation per selling partner and application with a token bucket: ``rate``
tokens a second up to ``burst`` (Amazon's usage plans). We keep one bucket per (authorisation, operation) in
Redis, under ``<ns>:quota:<region>:<digest of the refresh token>:<operation>`` (the refresh token is
what Amazon's bucket is keyed by; only a digest of it is stored). Before each call a caller
*reserves* a token with one Lua script:

- a token is there: take it, no wait;
- the token is due within ``max_wait`` seconds: take it now (the bucket goes negative, so the next
  caller of any process queues behind this one) and sleep until it is due;
- it is due later: take nothing and say how long; the caller frees its thread (:class:`QuotaWait`).

A bucket is one string, ``"<tokens> <time> <refined rate> <429s in a row>"`` (``-`` for none), read
and written with one GET and one SET (with its idle expiry) inside the script: two commands a call.
The time is the caller's clock (hosts keep theirs within milliseconds by NTP, which a token of
Amazon's refills in 0.5 s or more dwarfs); a caller whose clock lags the bucket's last time refills
nothing rather than going back, so a skew can only slow the bucket, never speed it up.

``dramatiq.rate_limits`` was the first candidate and does not fit: its Bucket limiter is a fixed
window counter (a burst at the end of one window plus one at the start of the next is twice
Amazon's burst, hence 429s), its Window limiter sums one Redis key per second of the window (20
minutes for getOrders) and allows only ``burst`` per window, half of Amazon's steady rate; neither
can say *how long* to wait, which is what lets a worker sleep exactly or hand the job back.

Refinement: a response's ``x-amzn-RateLimit-Limit`` replaces the documented rate of that bucket. A
429 means Amazon's bucket is emptier than ours: ours is emptied too, plus a debt that doubles with
each 429 in a row (1, 2, 4, 8 refill intervals), so every process backs off together; the count
of 429s in a row (``strikes``) is returned so the caller can give up after too many.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from services.platform.redis_pool import key
from services.platform.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsagePlan:
    #: Requests per second (Amazon's documented default).
    rate: float
    #: Requests served back to back from a full bucket.
    burst: int


#: Operation -> Amazon's documented usage plan (its documented rate and burst).
USAGE_PLANS: dict[str, UsagePlan] = {
    "getOrders": UsagePlan(0.0167, 20),
    "getOrderItems": UsagePlan(0.5, 30),
    "getOrderMetrics": UsagePlan(0.5, 15),
    "getInventorySummaries": UsagePlan(2.0, 2),
}

#: Seconds: a token is taken only when the bucket would still hold it this much later. Requests do
#: not reach Amazon at the instant we grant them (scheduling, connection set-up, a previous request
#: that arrived late); without this margin a token granted on the dot arrives just before Amazon's
#: bucket has it. It does not lower the steady rate: only the first paced request pays it.
SEND_MARGIN_SECONDS = 0.05
#: The debt added by a 429 stops doubling at this many refill intervals.
MAX_THROTTLE_DEBT = 8

#: Reads a bucket's state into tokens, ts, stored (the refined rate) and strikes (nil where absent).
_PARSE = """
local tokens, ts, stored, strikes
local state = redis.call('GET', KEYS[1])
if state then
  local t, s, r, k = string.match(state, '^(%S+) (%S+) (%S+) (%S+)$')
  tokens, ts, stored, strikes = tonumber(t), tonumber(s), tonumber(r), tonumber(k)
end
local function field(value) if value then return tostring(value) end return '-' end
"""

# KEYS[1] bucket. ARGV: now (s, the caller's clock), rate (tokens/s, unless the bucket holds a
# refined one), burst, max wait (s), margin (s), idle ttl (ms). Returns {taken (0|1), wait seconds as
# a string, the refined rate stored (or false), the 429s in a row (or false)}: what ``served`` would
# otherwise have to change blindly.
_RESERVE = (
    _PARSE
    + """
local rate = stored or tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local now = math.max(tonumber(ARGV[1]), ts or 0)
tokens = math.min(burst, (tokens or burst) + (now - (ts or now)) * rate)
local need = math.min(1 + rate * tonumber(ARGV[5]), burst)
local wait = 0
if tokens < need then wait = (need - tokens) / rate end
if wait > tonumber(ARGV[4]) then
  return {0, tostring(wait), stored and tostring(stored) or false, strikes or false}
end
local state = tostring(tokens - 1) .. ' ' .. tostring(now) .. ' ' .. field(stored) .. ' ' .. field(strikes)
redis.call('SET', KEYS[1], state, 'PX', ARGV[6])
return {1, tostring(wait), stored and tostring(stored) or false, strikes or false}
"""
)

# KEYS[1] bucket. ARGV: now, rate, burst, max debt (refill intervals), idle ttl (ms). Returns the strikes.
_THROTTLED = (
    _PARSE
    + """
local rate = stored or tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local now = math.max(tonumber(ARGV[1]), ts or 0)
tokens = math.min(burst, (tokens or burst) + (now - (ts or now)) * rate)
strikes = (strikes or 0) + 1
local debt = math.min(2 ^ (strikes - 1), tonumber(ARGV[4]))
tokens = math.min(tokens, 0) - (debt - 1)
local state = tostring(tokens) .. ' ' .. tostring(now) .. ' ' .. field(stored) .. ' ' .. strikes
redis.call('SET', KEYS[1], state, 'PX', ARGV[5])
return strikes
"""
)

# KEYS[1] bucket. ARGV: 1 to clear the strikes (else 0), the rate to store (or -), idle ttl (ms).
_SERVED = (
    _PARSE
    + """
if ARGV[1] == '1' then strikes = nil end
if ARGV[2] ~= '-' then stored = tonumber(ARGV[2]) end
local state = field(tokens) .. ' ' .. field(ts) .. ' ' .. field(stored) .. ' ' .. field(strikes)
if ts then redis.call('SET', KEYS[1], state, 'KEEPTTL')
else redis.call('SET', KEYS[1], state, 'PX', ARGV[3]) end
return 1
"""
)


@dataclass(frozen=True)
class BucketState:
    """A bucket as Redis holds it (``QuotaBuckets.state``): None where the bucket has no such value."""

    tokens: float | None
    at: float | None
    rate: float | None
    strikes: int | None


@dataclass(frozen=True)
class Reservation:
    #: True: the token is ours once ``wait`` seconds have passed. False: nothing was taken.
    taken: bool
    #: Seconds until the token is (or would be) due.
    wait: float
    #: The bucket's refined rate (Amazon's header × the time scale) when it holds one.
    stored_rate: float | None = None
    #: 429s in a row recorded on the bucket when the token was reserved.
    strikes: int = 0
    #: The rate the bucket refills at: its refined one, else the documented one (× the time scale).
    rate: float | None = None


class QuotaBuckets:
    """Token buckets of every seller and operation, in Redis; safe for any number of processes."""

    def __init__(self, client: redis.Redis, settings: Settings, clock: Callable[[], float] = time.time):
        self._client = client
        self._settings = settings
        self._scale = settings.sp_api_quota_time_scale
        self._clock = clock
        self._reserve = client.register_script(_RESERVE)
        self._throttled = client.register_script(_THROTTLED)
        self._served = client.register_script(_SERVED)

    def bucket(self, refresh_token: str, region: str, operation: str) -> str:
        digest = hashlib.sha256(refresh_token.encode()).hexdigest()[:32]
        return key(self._settings, "quota", region, digest, operation)

    def reserve(self, bucket: str, operation: str, max_wait: float) -> Reservation:
        """Take a token due within ``max_wait`` seconds, or say when one would be due."""
        plan = USAGE_PLANS[operation]
        taken, wait, *known = self._reserve(
            keys=[bucket],
            args=[
                repr(self._clock()),
                plan.rate * self._scale,
                plan.burst,
                max_wait,
                SEND_MARGIN_SECONDS,
                self._ttl_ms(plan),
            ],
        )
        rate, strikes = (list(known) + [None, None])[:2]
        stored = float(rate) if rate else None
        return Reservation(
            bool(int(taken)),
            float(wait),
            stored,
            int(strikes) if strikes else 0,
            rate=stored or plan.rate * self._scale,
        )

    def throttled(self, bucket: str, operation: str) -> int:
        """Amazon answered 429: empty the bucket with a growing debt; returns the 429s in a row."""
        plan = USAGE_PLANS[operation]
        args = [
            repr(self._clock()),
            plan.rate * self._scale,
            plan.burst,
            MAX_THROTTLE_DEBT,
            self._ttl_ms(plan),
        ]
        return int(self._throttled(keys=[bucket], args=args))

    def served(self, bucket: str, rate_limit: str | None, known: Reservation | None = None) -> None:
        """Amazon answered: the 429s in a row end, and its ``x-amzn-RateLimit-Limit`` becomes the rate.

        With ``known`` (the reservation of this call) only what changes is sent: the strikes are
        cleared only when some were recorded, and the rate stored only when the header differs from
        the rate the bucket refills at (a fresh bucket refills at the documented rate, which Amazon's
        header usually repeats). The usual call sends nothing: no round trip, where a fresh bucket (a
        new seller, or one idle past its TTL, as between hourly syncs) cost an HDEL and an HSET per
        SP-API call. A 429 from another process in between is cleared by the next call.
        """
        rate = _parse_rate(rate_limit)
        scaled = rate * self._scale if rate is not None else None
        clear_strikes = known is None or known.strikes > 0
        store_rate = scaled is not None and (known is None or scaled != known.rate)
        if not (clear_strikes or store_rate):
            return
        operation = bucket.rsplit(":", 1)[-1]
        ttl = self._ttl_ms(USAGE_PLANS[operation]) if operation in USAGE_PLANS else 60_000
        self._served(keys=[bucket], args=[int(clear_strikes), repr(scaled) if store_rate else "-", ttl])

    def state(self, bucket: str) -> BucketState | None:
        """The bucket as Redis holds it (None: full, no state kept); for tests and operators."""
        raw = self._client.get(bucket)
        if raw is None:
            return None
        tokens, at, rate, strikes = (None if part == "-" else part for part in raw.decode().split(" "))
        return BucketState(
            float(tokens) if tokens else None,
            float(at) if at else None,
            float(rate) if rate else None,
            int(float(strikes)) if strikes else None,
        )

    def _ttl_ms(self, plan: UsagePlan) -> int:
        # An idle bucket refills completely in burst / rate; after that its state says nothing.
        return 1000 * max(60, math.ceil(2 * plan.burst / (plan.rate * self._scale)))


def _parse_rate(header: str | None) -> float | None:
    if not header:
        return None
    try:
        rate = float(header)
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None
