"""Settings: read once from the environment (and `.env`), validated at start.

Nothing else in sellersync reads ``os.environ``. A setting that is present but malformed raises
:class:`SettingsError` whose message is one line naming the variable; entry points print it and exit.
Tests build their own :class:`Settings` (``Settings.from_env({...})``) instead of patching the
environment, and install them with :func:`configure` before the broker is built.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from cryptography.fernet import Fernet
from dotenv import dotenv_values

from services.platform.errors import SettingsError

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Settings:
    """Every setting of sellersync; the README's settings table lists the same names."""

    #: Broker + cache + locks. Required in production; dev mode and tests start an embedded redis-server.
    redis_url: str | None = None
    #: The documents. Required in production; dev mode and tests start an embedded document server.
    mongodb_uri: str | None = None
    #: None: the broker uses redis_url. ``redis://`` or ``amqp://``.
    broker_url: str | None = None
    port: int = 8000
    log_format: str = "text"
    #: The level of our processes' logs; DEBUG adds one line per SP-API HTTP request.
    log_level: str = "INFO"
    redis_namespace: str = "sellersync"
    worker_concurrency: int = 3
    worker_processes: int = 1
    sync_cron: str = "0 * * * *"
    sync_interval_minutes: int = 60
    job_max_retries: int = 3
    job_time_limit_seconds: int = 900
    job_status_retention_days: int = 30
    #: Milliseconds: the first job retry waits about this long, doubling after each further failure.
    job_min_backoff_ms: int = 15_000
    #: Milliseconds: the longest wait between two job retries.
    job_max_backoff_ms: int = 3_600_000
    #: Milliseconds without a heartbeat after which a worker's unacked messages are redelivered.
    broker_heartbeat_timeout_ms: int = 60_000
    #: Out of 1,000,000: how often a broker command also runs maintenance (redelivering the messages of
    #: workers whose heartbeat is stale). Dramatiq's default.
    broker_maintenance_chance: int = 1000
    api_tokens: tuple[str, ...] = ()
    #: The HS256 secret of seller-scoped tokens, shared with the product's main app (None: refused).
    user_token_secret: str | None = None
    sp_api_lwa_app_id: str | None = None
    sp_api_lwa_client_secret: str | None = None
    sp_api_endpoint: str | None = None
    sp_api_lwa_endpoint: str | None = None
    #: Seconds: connect/read timeout of one SP-API call.
    sp_api_timeout_seconds: float = 30.0
    #: Tries of one SP-API call (tenacity) before the account fails for this attempt of the job.
    sp_api_retry_attempts: int = 6
    #: Seconds: scale of the random exponential wait between tries of one call.
    sp_api_retry_wait_seconds: float = 0.5
    #: Seconds: the longest wait between two tries of one call.
    sp_api_retry_max_wait_seconds: float = 30.0
    #: Seconds: no new try of one call starts after this long.
    sp_api_retry_deadline_seconds: float = 120.0
    #: Seconds of real time: a quota wait up to this long sleeps in the worker thread; a longer one
    #: frees the thread and the job is redelivered when the token is due (no job retry is spent).
    sp_api_quota_max_wait_seconds: float = 5.0
    #: Multiplier of Amazon's documented rates in our quota buckets: 1 for Amazon; set it to the
    #: sandbox's SANDBOX_TIME_SCALE when the sandbox refills faster.
    sp_api_quota_time_scale: float = 1.0
    #: 429s in a row on one (seller, operation) after which the call fails as transient (a job retry).
    sp_api_throttle_limit: int = 10
    fernet_key: str | None = None
    #: Dev mode only: how many demo users to create and sync at start.
    demo_users: int = 20
    #: Dev mode only: the local sandbox's quotas refill this many times faster than Amazon's (None: 60).
    sandbox_time_scale: float | None = None
    #: Seconds: the scheduler's leader lease; a dead leader is replaced within about this long
    #: (None: one tick period within 5-30 s, services.schedule.timing.lease_seconds).
    scheduler_lease_seconds: float | None = None
    #: Seconds: tick at this fixed interval instead of SYNC_CRON (None: SYNC_CRON; dev mode: 30).
    scheduler_every_seconds: float | None = None
    #: Due users read, claimed, recorded and enqueued per batch by the scheduler.
    scheduler_batch_size: int = 1000

    @property
    def broker(self) -> str | None:
        return self.broker_url or self.redis_url

    @property
    def uses_sandbox(self) -> bool:
        """No LWA credentials: SP-API calls go to the local sandbox."""
        return not (self.sp_api_lwa_app_id and self.sp_api_lwa_client_secret)

    @property
    def cache_ttl_seconds(self) -> int:
        return 2 * self.sync_interval_minutes * 60

    def to_env(self) -> dict[str, str]:
        """The environment variables that make another process read these settings (unset: absent)."""
        env: dict[str, str] = {}
        for name in _PARSERS:
            value = getattr(self, name)
            if value is None or value == ():
                continue
            env[name.upper()] = ",".join(value) if isinstance(value, tuple) else str(value)
        return env

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = ".env"
    ) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ`` over the values of ``.env``)."""
        if environ is None:
            values = {k: v for k, v in (dotenv_values(dotenv_path) if dotenv_path else {}).items() if v}
            values.update(os.environ)
        else:
            values = dict(environ)
        kwargs: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            raw = values.get(name.upper())
            if raw is None or raw.strip() == "":
                continue
            try:
                kwargs[name] = parse(raw.strip())
            except (ValueError, TypeError) as exc:
                shown = "a value that is not shown" if name in SECRET_SETTINGS else repr(raw.strip())
                raise SettingsError(f"{name.upper()}: {exc} (got {shown})") from None
        settings = cls(**kwargs)
        settings.check()
        return settings

    def check(self) -> None:
        """Cross-field rules; raises SettingsError naming the variable."""
        if bool(self.sp_api_lwa_app_id) != bool(self.sp_api_lwa_client_secret):
            missing = "SP_API_LWA_CLIENT_SECRET" if self.sp_api_lwa_app_id else "SP_API_LWA_APP_ID"
            raise SettingsError(f"{missing}: must be set together with its LWA partner")
        if self.job_min_backoff_ms > self.job_max_backoff_ms:
            raise SettingsError("JOB_MIN_BACKOFF_MS: must not exceed JOB_MAX_BACKOFF_MS")


def _integer(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ValueError("expected a whole number")
        value = int(raw)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {bound}")
        return value

    return parse


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a positive number") from None
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not any(raw.startswith(f"{s}://") for s in schemes):
            raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
        return raw

    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw

    return parse


def _namespace(raw: str) -> str:
    if not _NAMESPACE_RE.match(raw):
        raise ValueError("expected 1-64 letters, digits, '_', '-' or '.'")
    return raw


def _cron(raw: str) -> str:
    CronTrigger.from_crontab(raw)  # raises ValueError on a malformed expression
    return raw


def _tokens(raw: str) -> tuple[str, ...]:
    tokens = tuple(t.strip() for t in raw.split(",") if t.strip())
    if any(len(t) < 16 for t in tokens):
        raise ValueError("every token must be at least 16 characters")
    return tokens


def _user_token_secret(raw: str) -> str:
    if len(raw.encode()) < 32:
        raise ValueError("must be at least 32 bytes (HS256 wants a key as long as its hash)")
    return raw


def _fernet_key(raw: str) -> str:
    Fernet(raw.encode())  # raises ValueError on a malformed key
    return raw


def _text(raw: str) -> str:
    return raw


_PARSERS: dict[str, Callable[[str], Any]] = {
    "redis_url": _url("redis", "rediss", "unix"),
    "mongodb_uri": _url("mongodb", "mongodb+srv"),
    "broker_url": _url("redis", "rediss", "amqp", "amqps"),
    "port": _integer(1, 65535),
    "log_format": _choice("text", "json"),
    "log_level": _choice("DEBUG", "INFO", "WARNING", "ERROR"),
    "redis_namespace": _namespace,
    "worker_concurrency": _integer(1, 256),
    "worker_processes": _integer(1, 64),
    "sync_cron": _cron,
    "sync_interval_minutes": _integer(1),
    "job_max_retries": _integer(0, 100),
    "job_time_limit_seconds": _integer(1),
    "job_status_retention_days": _integer(1),
    "job_min_backoff_ms": _integer(1),
    "job_max_backoff_ms": _integer(1, 7 * 86_400_000),
    "broker_heartbeat_timeout_ms": _integer(1000),
    "broker_maintenance_chance": _integer(0, 1_000_000),
    "api_tokens": _tokens,
    "user_token_secret": _user_token_secret,
    "sp_api_lwa_app_id": _text,
    "sp_api_lwa_client_secret": _text,
    "sp_api_endpoint": _url("http", "https"),
    "sp_api_lwa_endpoint": _url("http", "https"),
    "sp_api_timeout_seconds": _positive_float,
    "sp_api_retry_attempts": _integer(1, 100),
    "sp_api_retry_wait_seconds": _positive_float,
    "sp_api_retry_max_wait_seconds": _positive_float,
    "sp_api_retry_deadline_seconds": _positive_float,
    "sp_api_quota_max_wait_seconds": _positive_float,
    "sp_api_quota_time_scale": _positive_float,
    "sp_api_throttle_limit": _integer(1, 1000),
    "fernet_key": _fernet_key,
    "demo_users": _integer(0, 10_000),
    "sandbox_time_scale": _positive_float,
    "scheduler_lease_seconds": _positive_float,
    "scheduler_every_seconds": _positive_float,
    "scheduler_batch_size": _integer(1, 100_000),
}

#: Settings whose values never appear in an error message.
SECRET_SETTINGS = {
    "api_tokens",
    "user_token_secret",
    "sp_api_lwa_client_secret",
    "fernet_key",
    "redis_url",
    "mongodb_uri",
    "broker_url",
}

_lock = threading.Lock()
_current: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Settings.from_env()
        return _current


def is_configured() -> bool:
    """True once settings are installed or read (dev mode and tests install theirs with configure)."""
    with _lock:
        return _current is not None


def settings_or_exit(exit_code: int = 2) -> Settings:
    """The process's settings, or (for an entry point) one line on stderr naming the bad variable and
    ``SystemExit(exit_code)``."""
    try:
        return get_settings()
    except SettingsError as exc:
        print(f"sellersync: {exc}", file=sys.stderr)
        raise SystemExit(exit_code) from None


def configure(settings: Settings | None = None, **changes: Any) -> Settings:
    """Install ``settings`` (or the current ones with ``changes``) as the process's settings.

    Must run before the broker or the Redis pool are built (dev mode and tests use it to point at the
    embedded redis-server they started).
    """
    global _current
    base = settings or get_settings()
    new = replace(base, **changes) if changes else base
    with _lock:
        _current = new
    return new
