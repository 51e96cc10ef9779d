"""Counters and histograms that worker processes add to in Redis, and the reader that /metrics uses.

Workers are separate processes (and hosts) and never serve HTTP, so what they count is aggregated
in Redis, as the queue statistics are: one hash per metric, ``<ns>:metrics:<name>``, one field per
label set (histograms: one field per bucket, plus ``count`` and ``sum``). Every web process then
reads the same totals with one pipelined ``HGETALL`` per metric. prometheus-client's multiprocess
mode was the alternative and does not fit: it aggregates files of one host's processes, while our
workers run on other dynos than the web process that is scraped.

Declare a metric once in :data:`METRICS`; then, on a :class:`WorkerMetrics` built with the
process's Redis client and settings::

    metrics.count("spapi_requests", {"operation": "getOrders", "outcome": "429"})
    metrics.observe("job_duration_seconds", {"trigger": "schedule", "status": "completed"}, 12.5)

Labels must be exactly the declared ones. An update is not sent at once: each process gathers what
all its threads record, summed per field, and sends it in one Redis round trip once the oldest
update is FLUSH_SECONDS old (by the next thread that records, or by a flusher thread), and at exit.
A busy worker process thus sends one round trip per interval, not several per job; /metrics lags by
no more than that. A metric never fails the work it measures: a Redis error while sending is logged
and the updates are dropped.
"""

from __future__ import annotations

import atexit
import bisect
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis

from services.platform.redis_pool import key
from services.platform.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    """A counter (``buckets`` empty) or a histogram (``buckets``: upper bounds in seconds)."""

    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()

    @property
    def is_histogram(self) -> bool:
        return bool(self.buckets)


#: Seconds: waits from a few milliseconds of quota pacing to the minute of a getOrders refill.
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300)
#: Seconds: an attempt of a job, up to JOB_TIME_LIMIT_SECONDS' default.
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900)

#: Seconds: from connecting an account to its first analysis, a first look's seconds to a backfill's hours.
FIRST_ANALYSIS_BUCKETS = (5, 15, 30, 60, 120, 300, 900, 3600, 14400)

#: Every worker-side metric: name (exposed as ``sellersync_<name>``) -> declaration.
METRICS: dict[str, Metric] = {
    "spapi_requests": Metric(
        "SP-API HTTP requests by operation and outcome (2xx, 429, 4xx, 5xx, timeout, connection, error).",
        ("operation", "outcome"),
    ),
    "spapi_quota_wait_seconds": Metric(
        "Waits for an SP-API quota token: slept in the worker thread (sleep) or with the job handed "
        "back to the broker (handoff).",
        ("operation", "kind"),
        WAIT_BUCKETS,
    ),
    "job_retries": Metric("Job retries scheduled, by the exception that caused them.", ("reason",)),
    "job_duration_seconds": Metric(
        "Duration of each job attempt, by trigger and how the attempt ended.",
        ("trigger", "status"),
        JOB_BUCKETS,
    ),
    "first_analysis_seconds": Metric(
        "Seconds from connecting (or re-authorising) an account to its first analysis in the cache, "
        "by kind: a first look (a first sync) or a full analysis.",
        ("kind",),
        FIRST_ANALYSIS_BUCKETS,
    ),
}


#: Seconds an update may wait in its process before it is sent (see the module docstring).
FLUSH_SECONDS = 5.0


def _field(metric: Metric, labels: Mapping[str, str], *suffix: str) -> str:
    if set(labels) != set(metric.labels):
        raise ValueError(f"labels must be {metric.labels}, got {tuple(labels)}")
    return json.dumps([str(labels[name]) for name in metric.labels] + list(suffix))


class Batch:
    """Updates gathered here, from any thread, and sent by :meth:`flush` in one round trip: one
    command per field, the updates of a field summed first (a process's many getOrderMetrics calls
    are one increment)."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._lock = threading.Lock()
        #: (hash, field) -> (amount, whether it is a float field).
        self._updates: dict[tuple[str, str], tuple[float, bool]] = {}
        #: Monotonic time of the oldest update not yet sent (None: nothing to send).
        self.since: float | None = None

    def _add(self, name_key: str, field: str, amount: float, floating: bool) -> None:
        with self._lock:
            total, _ = self._updates.get((name_key, field), (0, floating))
            self._updates[(name_key, field)] = (total + amount, floating)
            if self.since is None:
                self.since = time.monotonic()

    def due(self, age: float) -> bool:
        """Whether the oldest update not yet sent is at least ``age`` seconds old."""
        since = self.since
        return since is not None and time.monotonic() - since >= age

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1) -> None:
        metric = METRICS[name]
        self._add(key(self._settings, "metrics", name), _field(metric, labels), amount, True)

    def observe(self, name: str, labels: Mapping[str, str], seconds: float) -> None:
        """One observation: its bucket (the first upper bound it does not exceed), count and sum."""
        metric = METRICS[name]
        name_key = key(self._settings, "metrics", name)
        index = bisect.bisect_left(metric.buckets, seconds)  # len(buckets): only in +Inf
        self._add(name_key, _field(metric, labels, f"b{index}"), 1, False)
        self._add(name_key, _field(metric, labels, "count"), 1, False)
        self._add(name_key, _field(metric, labels, "sum"), seconds, True)

    def flush(self) -> None:
        """Send what was gathered (nothing: no round trip); a Redis error is logged, never raised."""
        with self._lock:
            updates, self._updates, self.since = self._updates, {}, None
        if not updates:
            return
        pipe = self._client.pipeline(transaction=False)
        for (name_key, field), (amount, floating) in updates.items():
            if floating:
                pipe.hincrbyfloat(name_key, field, amount)
            else:
                pipe.hincrby(name_key, field, int(amount))
        try:
            pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Could not record worker metrics (%s); they are dropped.", exc)


class WorkerMetrics:
    """The metrics of one Redis namespace: record with :meth:`count`/:meth:`observe`, sent later by
    this process (see the module docstring); read the totals of every process with :meth:`read`."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._pending = _process_batch(client, settings)

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1) -> None:
        self._pending.count(name, labels, amount)
        self._sent_when_due()

    def observe(self, name: str, labels: Mapping[str, str], seconds: float) -> None:
        self._pending.observe(name, labels, seconds)
        self._sent_when_due()

    def flush(self) -> None:
        """Send what this process recorded in this namespace now."""
        self._pending.flush()

    def _sent_when_due(self) -> None:
        if self._pending.due(FLUSH_SECONDS):
            self._pending.flush()

    def read(self) -> dict[str, dict[tuple[str, ...], float | Histogram]]:
        """Every declared metric: label values -> total (counters) or :class:`Histogram`. One round trip."""
        pipe = self._client.pipeline(transaction=False)
        for name in METRICS:
            pipe.hgetall(key(self._settings, "metrics", name))
        return {name: _decode(METRICS[name], raw) for name, raw in zip(METRICS, pipe.execute(), strict=True)}


#: This process's updates not sent yet: one Batch per Redis client and namespace (the Batch keeps
#: its client, so the client's id is not reused while the entry lives).
_pending: dict[tuple[int, str], Batch] = {}
_pending_lock = threading.Lock()
_flusher: threading.Thread | None = None


def _process_batch(client: redis.Redis, settings: Settings) -> Batch:
    global _flusher
    with _pending_lock:
        batch = _pending.get((id(client), settings.redis_namespace))
        if batch is None:
            batch = _pending[(id(client), settings.redis_namespace)] = Batch(client, settings)
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_when_due, name="worker-metrics", daemon=True)
            _flusher.start()
    return batch


def flush_all(age: float = 0.0) -> None:
    """Send every update of this process that is at least ``age`` seconds old (at exit: all)."""
    with _pending_lock:
        batches = list(_pending.values())
    for batch in batches:
        if batch.due(age):
            batch.flush()


def _flush_when_due() -> None:
    """The flusher thread: sends what an idle process recorded (a busy one sends as it records)."""
    while True:
        time.sleep(min(max(FLUSH_SECONDS, 0.05), 1.0))
        flush_all(FLUSH_SECONDS)


def _forget_after_fork() -> None:
    """A forked child starts with nothing pending and no flusher (the thread did not survive)."""
    global _flusher, _pending_lock
    _pending.clear()
    _pending_lock = threading.Lock()
    _flusher = None


atexit.register(flush_all)
os.register_at_fork(after_in_child=_forget_after_fork)


@dataclass
class Histogram:
    #: Observations per bucket (not cumulative), the last one for +Inf.
    counts: list[int]
    count: int = 0
    sum: float = 0.0

    def cumulative(self, bounds: tuple[float, ...]) -> list[tuple[str, int]]:
        """Prometheus buckets: ``(le, observations <= le)``, ending with ``+Inf``."""
        total, rows = 0, []
        for bound, counted in zip((*map(str, map(float, bounds)), "+Inf"), self.counts, strict=True):
            total += counted
            rows.append((bound, total))
        return rows


def _decode(metric: Metric, raw: dict[bytes, bytes]) -> dict[tuple[str, ...], float | Histogram]:
    values: dict[tuple[str, ...], float | Histogram] = {}
    width = len(metric.labels)
    for field, value in raw.items():
        parts = json.loads(field)
        labels = tuple(parts[:width])
        if not metric.is_histogram:
            values[labels] = float(value)
            continue
        histogram = values.setdefault(labels, Histogram([0] * (len(metric.buckets) + 1)))
        part = parts[width]
        if part == "count":
            histogram.count = int(value)
        elif part == "sum":
            histogram.sum = float(value)
        else:
            histogram.counts[int(part[1:])] = int(value)
    return values
