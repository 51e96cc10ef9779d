"""The broker, built once from settings before any actor is declared.

RedisBroker on the one Redis pool, under REDIS_NAMESPACE (or RabbitmqBroker when BROKER_URL is
``amqp://``), with middleware: AgeLimit, JobLeaseMiddleware (one execution of a job at a time),
TimeLimit (JOB_TIME_LIMIT_SECONDS), ShutdownNotifications, CurrentMessage, our WorkerPresence,
ParentDeathWatch (a CLI worker process whose main process died stops), JobStatusMiddleware, and Retries
(JOB_MAX_RETRIES, exponential backoff with jitter; ``actors.retries.JobRetries``, which requeues a
wait for an SP-API quota token, or a delivery that lost its lease, without counting it).

JobStatusMiddleware is listed *before* Retries: Dramatiq runs ``after_*`` hooks in reverse order, so
ours runs after Retries has decided whether the message is retried or failed.
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, ShutdownNotifications, TimeLimit

from actors.job_lease_middleware import JobLeaseMiddleware
from actors.job_status_middleware import MAX_MESSAGE_AGE_HOURS, JobStatusMiddleware
from actors.parent_watch import ParentDeathWatch
from actors.presence import WorkerPresence
from actors.retries import JobRetries
from services.jobs.active import ActiveJobs
from services.jobs.lease import LeaseKeeper, LeaseTiming
from services.jobs.presence import Presence
from services.jobs.records import JobRecords
from services.platform.logs import apply_level
from services.platform.redis_pool import get_redis
from services.platform.required_settings import settings_for_process_or_exit
from services.platform.settings import Settings, get_settings, is_configured
from services.platform.worker_metrics import WorkerMetrics

#: Messages older than this are dropped rather than processed (a sync this stale is superseded);
#: the job-status middleware then marks the job failed.
MAX_MESSAGE_AGE_MS = MAX_MESSAGE_AGE_HOURS * 3_600_000


def build_middleware(settings: Settings) -> list:
    client = get_redis(settings)
    return [
        AgeLimit(max_age=MAX_MESSAGE_AGE_MS),
        # Before TimeLimit and ShutdownNotifications, whose exceptions are raised asynchronously in the
        # job's thread: the lease is taken before, and released after, the thread can be interrupted.
        # Listed after them, a stop signal that landed as the take's reply came back left the lease
        # in Redis unknown to the thread, and the job's retry waited for it to run out.
        JobLeaseMiddleware(LeaseKeeper(client, settings)),
        TimeLimit(time_limit=settings.job_time_limit_seconds * 1000),
        ShutdownNotifications(notify_shutdown=True),
        CurrentMessage(),
        WorkerPresence(Presence(settings, client)),
        ParentDeathWatch(),
        JobStatusMiddleware(
            JobRecords(settings), ActiveJobs(settings, client), WorkerMetrics(client, settings)
        ),
        JobRetries(
            lease_lost_delay_ms=LeaseTiming.of(settings).lease_ms,
            max_retries=settings.job_max_retries,
            min_backoff=settings.job_min_backoff_ms,
            max_backoff=settings.job_max_backoff_ms,
        ),
    ]


def build_broker(settings: Settings | None = None, client: redis.Redis | None = None) -> dramatiq.Broker:
    settings = settings or get_settings()
    middleware = build_middleware(settings)
    url = settings.broker
    if url and url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=middleware)
    if client is None:
        use_shared_pool = not settings.broker_url or settings.broker_url == settings.redis_url
        client = get_redis(settings) if use_shared_pool else redis.Redis.from_url(settings.broker_url)
    return RedisBroker(
        client=client,
        namespace=settings.redis_namespace,
        middleware=middleware,
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
        maintenance_chance=settings.broker_maintenance_chance,
    )


if not is_configured():
    # The `dramatiq` CLI imports us with nothing installed: a worker process of the Procfile, which
    # stops with one line naming a missing or malformed setting. Dev mode and tests configure first.
    apply_level(settings_for_process_or_exit("worker").log_level)
broker = build_broker()
dramatiq.set_broker(broker)
