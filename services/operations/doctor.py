"""``sellersync doctor``: what is misconfigured or down, each finding with how to fix it.

Every check returns a :class:`Check` named after what it checks; ``ok`` is ``ok``, ``warn`` (worth a
look, not a failure) or ``fail``. A check whose prerequisite failed (no Redis: no workers can be
counted) fails too and says why, so each problem is reported once by name and its consequences
are not mistaken for separate causes.

The doctor uses its own short-timeout clients for Redis and MongoDB (a few seconds, not the
processes' defaults), so an unreachable server is reported in seconds instead of hanging. It never
prints a secret: URLs are shown as host and port, tokens not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pymongo
import redis
import requests

from services.platform.errors import SettingsError
from services.platform.settings import Settings

#: Seconds a doctor's connection attempt may take.
TIMEOUT = 3.0
#: Seconds of clock difference with Redis above which quotas and job timestamps disagree.
MAX_SKEW_SECONDS = 2.0
#: The LWA token endpoint of Amazon (every region uses the same one).
AMAZON_LWA = "https://api.amazon.com/auth/o2/token"
LWA_PATH = "/auth/o2/token"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def where(url: str | None) -> str:
    """``host:port`` of a URL: enough to say which server, never its credentials."""
    if not url:
        return "(unset)"
    parts = urlsplit(url)
    return parts.hostname and f"{parts.hostname}:{parts.port or ''}".rstrip(":") or parts.scheme


@dataclass
class Doctor:
    settings: Settings
    #: POSTs a form to the LWA endpoint; a test or a proxy may give another.
    post: Callable[..., Any] = requests.post
    clock: Callable[[], float] = time.time
    redis_client: redis.Redis | None = None
    _facts: dict[str, Any] = field(default_factory=dict)

    def run(self) -> list[Check]:
        checks = [
            self.check_settings,
            self.check_redis,
            self.check_clock,
            self.check_document_store,
            self.check_indexes,
            self.check_fernet_key,
            self.check_broker,
            self.check_workers,
            self.check_scheduler,
            self.check_spapi,
        ]
        results = []
        for check in checks:
            try:
                results.append(check())
            except Exception as exc:  # a check that breaks is a finding, not a crash of the doctor
                name = check.__name__.removeprefix("check_")
                results.append(
                    fail(name, f"the check itself failed: {type(exc).__name__}: {exc}", "report this")
                )
        return results

    # -- settings ----------------------------------------------------------------------------------
    def check_settings(self) -> Check:
        from services.platform.required_settings import PROCESSES, missing_setting

        problems = {p: missing_setting(self.settings, p) for p in PROCESSES}
        missing = sorted({m for m in problems.values() if m})
        if missing:
            return fail(
                "settings", "; ".join(missing), "set them in the environment or .env (README, Settings)"
            )
        return ok("settings", "every setting the web, worker, scheduler and release processes need is set")

    # -- Redis ---------------------------------------------------------------------------------------
    def _redis(self) -> redis.Redis:
        if self.redis_client is None:
            if not self.settings.redis_url:
                raise SettingsError("REDIS_URL: not set")
            self.redis_client = redis.Redis.from_url(
                self.settings.redis_url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT
            )
        return self.redis_client

    def check_redis(self) -> Check:
        at = where(self.settings.redis_url)
        try:
            info = self._redis().info("server")
        except (redis.RedisError, SettingsError) as exc:
            self._facts["redis"] = False
            return fail(
                "redis",
                f"cannot reach Redis at {at}: {type(exc).__name__}: {exc}",
                "start Redis, or set REDIS_URL to a reachable server",
            )
        self._facts["redis"] = True
        version = info.get("redis_version", "?")
        major = int(str(version).split(".")[0]) if str(version)[:1].isdigit() else 0
        if major < 5:
            return fail(
                "redis", f"Redis {version} at {at} is older than 5.0", "upgrade Redis to 5.0 or later"
            )
        return ok("redis", f"Redis {version} at {at}")

    def _needs_redis(self, name: str) -> Check | None:
        if not self._facts.get("redis"):
            return fail(name, "not checked: Redis is unreachable", "fix the redis check first")
        return None

    def check_clock(self) -> Check:
        if blocked := self._needs_redis("clock"):
            return blocked
        seconds, micros = self._redis().time()
        skew = self.clock() - (seconds + micros / 1_000_000)
        if abs(skew) > MAX_SKEW_SECONDS:
            return fail(
                "clock",
                f"this host's clock is {skew:+.1f} s off Redis's TIME",
                "synchronise the clocks (NTP); quotas run on Redis's clock, job times on the hosts'",
            )
        return ok("clock", f"{skew * 1000:+.0f} ms against Redis's TIME")

    # -- the document store ------------------------------------------------------------------------
    def check_document_store(self) -> Check:
        uri = self.settings.mongodb_uri
        if not uri:
            self._facts["store"] = False
            return fail("document_store", "MONGODB_URI is not set", "set MONGODB_URI to the MongoDB server")
        client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=int(TIMEOUT * 1000))
        try:
            version = client.server_info().get("version", "?")
        except pymongo.errors.PyMongoError as exc:
            self._facts["store"] = False
            return fail(
                "document_store",
                f"cannot reach MongoDB at {where(uri)}: {type(exc).__name__}",
                "start MongoDB, or set MONGODB_URI to a reachable server",
            )
        finally:
            client.close()
        from services.platform.store import connect_store

        connect_store(self.settings)
        self._facts["store"] = True
        return ok("document_store", f"MongoDB-wire server {version} at {where(uri)}")

    def _needs_store(self, name: str) -> Check | None:
        if not self._facts.get("store"):
            return fail(
                name, "not checked: the document store is unreachable", "fix the document_store check first"
            )
        return None

    def check_indexes(self) -> Check:
        from models.migrate import missing_indexes

        if blocked := self._needs_store("indexes"):
            return blocked
        missing = missing_indexes()
        if missing:
            listed = "; ".join(f"{c}: {', '.join(names)}" for c, names in sorted(missing.items()))
            return fail(
                "indexes",
                f"indexes missing ({listed}): the release step has not run",
                "run the release step: python -m services.operations.release",
            )
        return ok("indexes", "every declared index exists")

    def check_fernet_key(self) -> Check:
        from models import SellerAccount
        from services.platform.secrets import decrypt_token

        if not self.settings.fernet_key:
            return fail(
                "fernet_key", "FERNET_KEY is not set", "set FERNET_KEY to the key the tokens were stored with"
            )
        if blocked := self._needs_store("fernet_key"):
            return blocked
        account = SellerAccount.objects.only("refresh_token", "user_id", "country").first()
        if account is None:
            self._facts["tokens"] = True
            return ok("fernet_key", "valid key; no stored token to try it on yet")
        try:
            decrypt_token(account.refresh_token, self.settings)
        except SettingsError:
            self._facts["tokens"] = False
            return fail(
                "fernet_key",
                f"FERNET_KEY cannot decrypt the stored refresh token of {account.user_id}/{account.country}",
                "set FERNET_KEY to the key the tokens were stored with (or reauthorize every account)",
            )
        self._facts["tokens"] = True
        return ok("fernet_key", "decrypts a stored refresh token")

    # -- the broker, workers and the scheduler -----------------------------------------------------
    def check_broker(self) -> Check:
        from services.jobs.broker_queues import queue_depths, uses_rabbitmq
        from services.jobs.producer import QUEUE_NAME

        broker = self.settings.broker or ""
        if uses_rabbitmq(self.settings):
            return Check(
                "broker",
                "warn",
                f"RabbitMQ at {where(broker)}: queue depths not read by the doctor",
                "see the queue 'sync' in RabbitMQ's management UI",
            )
        if blocked := self._needs_redis("broker"):
            return blocked
        depths = queue_depths(self.settings, self._redis())
        waiting, delayed, dead = depths.waiting, depths.delayed, depths.dead
        detail = f"queue {QUEUE_NAME}: {waiting} waiting, {delayed} delayed, {dead} dead-lettered"
        if dead:
            return Check(
                "broker",
                "warn",
                detail,
                "dead-lettered messages are failed jobs: see `sellersync failed`, "
                "retry with `sellersync retry --all-failed`",
            )
        return ok("broker", detail)

    def check_workers(self) -> Check:
        from services.jobs.presence import STALE_AFTER, Presence

        if blocked := self._needs_redis("workers"):
            return blocked
        alive = Presence(self.settings, self._redis()).count()
        if not alive:
            return fail(
                "workers",
                f"no worker process announced itself in the last {STALE_AFTER:.0f} s",
                "start workers: dramatiq actors --processes N --threads M (Procfile worker:)",
            )
        return ok("workers", f"{alive} worker process{'' if alive == 1 else 'es'} alive")

    def check_scheduler(self) -> Check:
        from services.schedule.state import last_tick, lease_holder
        from services.schedule.timing import misfire_grace_seconds, scheduler_period

        if blocked := self._needs_redis("scheduler"):
            return blocked
        holder, ttl_ms = lease_holder(self.settings, self._redis())
        if holder is None:
            return fail(
                "scheduler",
                "no scheduler holds the leader lease",
                "start the scheduler: python -m cron.scheduler (Procfile scheduler:)",
            )
        tick = last_tick(self.settings, self._redis())
        if tick is None:
            return Check(
                "scheduler",
                "warn",
                f"leader {holder} (lease {ttl_ms / 1000:.0f} s left); no tick yet",
                "wait for the next SYNC_CRON tick, or run python -m cron.scheduler --once",
            )
        at = datetime.fromisoformat(tick["at"])
        age = datetime.fromtimestamp(self.clock(), UTC) - at
        # Two periods and the misfire grace: a tick may run that late and still be on schedule.
        period = scheduler_period(self.settings).total_seconds()
        allowed = timedelta(seconds=2 * period + misfire_grace_seconds(self.settings))
        detail = (
            f"leader {holder}; last tick {int(age.total_seconds())} s ago ({tick['due']} due, "
            f"{tick['enqueued']} enqueued)"
        )
        if age > allowed:
            return fail(
                "scheduler",
                detail + f", more than {int(allowed.total_seconds())} s ago",
                "look at the scheduler's log; its ticks are failing or not firing",
            )
        return ok("scheduler", detail)

    # -- SP-API ----------------------------------------------------------------------------------------
    def check_spapi(self) -> Check:
        from models import SellerAccount
        from services.platform.secrets import decrypt_token
        from services.sync.lwa import SANDBOX_LWA_APP_ID, SANDBOX_LWA_CLIENT_SECRET

        if blocked := self._needs_store("spapi"):
            return blocked
        if not self._facts.get("tokens"):
            return fail(
                "spapi", "not checked: no stored token can be decrypted", "fix the fernet_key check first"
            )
        url = lwa_url(self.settings.sp_api_lwa_endpoint)
        if self.settings.uses_sandbox:
            app_id, secret = SANDBOX_LWA_APP_ID, SANDBOX_LWA_CLIENT_SECRET
        else:
            app_id, secret = self.settings.sp_api_lwa_app_id, self.settings.sp_api_lwa_client_secret
        findings, problems = [], []
        for region in ("na", "eu", "fe"):
            account = SellerAccount.objects(region=region, status="active").first()
            if account is None:
                continue
            form = {
                "grant_type": "refresh_token",
                "refresh_token": decrypt_token(account.refresh_token, self.settings),
                "client_id": app_id,
                "client_secret": secret,
            }
            name = f"{region} ({account.user_id}/{account.country})"
            try:
                answer = self.post(url, data=form, timeout=TIMEOUT * 3)
            except requests.RequestException as exc:
                problems.append(f"{name}: cannot reach {where(url)}: {type(exc).__name__}")
                continue
            if answer.status_code == 200:
                findings.append(f"{region} ok")
            else:
                problems.append(f"{name}: LWA answered {answer.status_code} {_lwa_error_code(answer)}")
        if problems:
            return fail(
                "spapi",
                "; ".join(problems),
                "invalid_client: check SP_API_LWA_APP_ID/SECRET; invalid_grant: "
                "`sellersync accounts reauthorize USER COUNTRY`; unreachable: check SP_API_LWA_ENDPOINT",
            )
        if not findings:
            return ok("spapi", f"no active account to exchange a token for (LWA at {where(url)})")
        return ok("spapi", f"LWA token exchange at {where(url)}: {', '.join(findings)}")


def lwa_url(endpoint: str | None) -> str:
    """The token URL the SP-API client uses: Amazon's, or SP_API_LWA_ENDPOINT (+ /auth/o2/token)."""
    if not endpoint:
        return AMAZON_LWA
    parts = urlsplit(endpoint)
    return endpoint if parts.path not in ("", "/") else endpoint.rstrip("/") + LWA_PATH


def _lwa_error_code(answer: Any) -> str:
    try:
        return str(answer.json().get("error", ""))
    except ValueError:
        return "(not JSON)"


def run_doctor(settings: Settings, **options: Any) -> list[Check]:
    return Doctor(settings, **options).run()
