"""``/metrics``: Prometheus text, computed at scrape time from what the stores hold.

:class:`JobCollector` reads the shared queue-stats snapshot and a few indexed queries;
:class:`WorkerCollector` reads the counters and histograms that the workers aggregate in Redis
(services.platform.worker_metrics); :class:`OperationsCollector` reads the broker's dead letters and the
scheduler's last tick. So every web process answers the same and no multiprocess registry is needed.
deploy/prometheus/alerts.yml alerts on these names.
"""

from __future__ import annotations

import falcon
import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from services.jobs.broker_queues import queue_depths
from services.jobs.producer import QUEUE_NAME
from services.jobs.queries import JobQueries, StatsSnapshot
from services.platform.settings import Settings
from services.platform.worker_metrics import METRICS, WorkerMetrics
from services.schedule import state as scheduler_state
from web.apidoc import Part

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


class WorkerCollector(Collector):
    """Every metric declared in services.platform.worker_metrics.METRICS, as ``sellersync_<name>``."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self._metrics = metrics

    def collect(self):
        for name, values in self._metrics.read().items():
            metric = METRICS[name]
            labels = list(metric.labels)
            if not metric.is_histogram:
                family = CounterMetricFamily(f"sellersync_{name}", metric.help, labels=labels)
                for label_values, total in sorted(values.items()):
                    family.add_metric(list(label_values), total)
            else:
                family = HistogramMetricFamily(f"sellersync_{name}", metric.help, labels=labels)
                for label_values, histogram in sorted(values.items()):
                    buckets = histogram.cumulative(metric.buckets)
                    family.add_metric(list(label_values), buckets, histogram.sum)
            yield family


class OperationsCollector(Collector):
    """What the alerts need beyond the job records: dead letters, the scheduler's ticks, the interval."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._settings = settings
        self._client = client

    def collect(self):
        settings = self._settings
        depths = queue_depths(settings, self._client)
        if depths is not None:  # RabbitMQ: its own exporter has the depths
            dead = GaugeMetricFamily(
                "sellersync_dead_letter_messages", "Messages in the dead-letter queue.", labels=["queue"]
            )
            dead.add_metric([QUEUE_NAME], depths.dead)
            yield dead
        tick = scheduler_state.last_tick_at(settings, self._client)
        if tick is not None:  # absent until the first tick (the record is kept a week)
            yield GaugeMetricFamily(
                "sellersync_scheduler_last_tick_timestamp_seconds",
                "Unix time of the scheduler leader's last tick.",
                value=tick.timestamp(),
            )
        yield GaugeMetricFamily(
            "sellersync_scheduler_period_seconds",
            "Seconds between two scheduler ticks (SCHEDULER_EVERY_SECONDS or SYNC_CRON).",
            value=scheduler_state.period_seconds(settings),
        )
        yield GaugeMetricFamily(
            "sellersync_sync_interval_seconds",
            "SYNC_INTERVAL_MINUTES in seconds: a user whose last sync is older is stale.",
            value=settings.sync_interval_minutes * 60,
        )


class Metrics:
    auth_required = False
    openapi = {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics.",
            "responses": {
                "200": {
                    "description": "Prometheus text format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(self._registry)


def build_registry(
    snapshot: StatsSnapshot, queries: JobQueries, settings: Settings, client: redis.Redis
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobCollector(snapshot, queries))
    registry.register(WorkerCollector(WorkerMetrics(client, settings)))
    registry.register(OperationsCollector(settings, client))
    return registry


OPENAPI = Part({"/metrics": Metrics})
