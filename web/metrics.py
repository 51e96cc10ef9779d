"""``/metrics``: Prometheus text from the job records, computed at scrape time.

The collector reads the shared queue-stats snapshot and a few indexed queries, so every web process
answers the same and no multiprocess registry is needed. Worker-side metrics (message counts and
durations as they happen) belong to the workers (Dramatiq's Prometheus middleware).
"""

from __future__ import annotations

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from services.job_queries import JobQueries, StatsSnapshot

#: Upper bounds (seconds) of the job-duration histogram's buckets.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900)


class JobCollector(Collector):
    def __init__(self, snapshot: StatsSnapshot, queries: JobQueries) -> None:
        self._snapshot = snapshot
        self._queries = queries

    def collect(self):
        stats = self._snapshot.get()
        counts = stats["counts"]
        depth = GaugeMetricFamily(
            "sellersync_queue_depth", "Jobs waiting in the queue, by state.", labels=["queue", "state"]
        )
        depth.add_metric([stats["queue"], "waiting"], counts["waiting"])
        depth.add_metric([stats["queue"], "delayed"], counts["delayed"])
        yield depth
        yield GaugeMetricFamily(
            "sellersync_queue_oldest_waiting_seconds",
            "Age of the oldest queued job in seconds (0 when none waits).",
            value=stats["oldestWaitingSeconds"],
        )
        by_status = GaugeMetricFamily(
            "sellersync_jobs", "Job records kept (JOB_STATUS_RETENTION_DAYS), by status.", labels=["status"]
        )
        for status, name in (
            ("queued", "waiting"),
            ("running", "active"),
            ("retrying", "retrying"),
            ("completed", "completed"),
            ("failed", "failed"),
            ("cancelled", "cancelled"),
        ):
            by_status.add_metric([status], counts[name])
        yield by_status
        yield GaugeMetricFamily("sellersync_workers", "Live Dramatiq workers.", value=stats["workers"])
        yield self._durations()
        freshness = self._queries.freshness()
        yield GaugeMetricFamily(
            "sellersync_freshness_ratio",
            "Share of sync-enabled users whose last sync is within SYNC_INTERVAL_MINUTES.",
            value=freshness["ratio"],
        )
        yield GaugeMetricFamily(
            "sellersync_sync_enabled_users", "Users with sync enabled.", value=freshness["syncEnabledUsers"]
        )

    def _durations(self) -> HistogramMetricFamily:
        seconds = [ms / 1000 for ms in self._queries.recent_durations_ms()]
        buckets = [(str(float(b)), sum(1 for s in seconds if s <= b)) for b in DURATION_BUCKETS]
        buckets.append(("+Inf", len(seconds)))
        return HistogramMetricFamily(
            "sellersync_recent_job_duration_seconds",
            "Durations of the newest finished jobs (a sliding sample, not a counter: "
            "use histogram_quantile() on it directly, not rate()).",
            buckets=buckets,
            sum_value=sum(seconds),
        )


class Metrics:
    auth_required = False

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(self._registry)


def build_registry(snapshot: StatsSnapshot, queries: JobQueries) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobCollector(snapshot, queries))
    return registry
