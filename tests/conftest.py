"""Shared fixtures: a real Redis, the real broker and workers, the SP-API sandbox, a clean store.

- Redis: REDIS_URL when set, else an embedded redis-server on a free port (started once per session).
  Every key lives under a namespace unique to this session, so a shared server is safe.
- MongoDB: MONGODB_URI when set (it must name a throwaway database: every test empties it), else an
  embedded document server (SecantusDB, a MongoDB wire-protocol server) on a free port, started once
  per session as a separate process, so that subprocesses (the dramatiq CLI, gunicorn, the scheduler)
  share the store with the test. The release step (the indexes) runs once per session.
- The sandbox runs in this process on a free port, with time scaled up so quotas refill quickly.
Settings are installed before ``actors`` is imported, so the broker is built on them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from embedded.stack import start_stack
from services.platform.settings import Settings, configure

#: Sandbox quota refill speed-up in tests: getOrders refills 1/min at Amazon, ~17/s here.
SANDBOX_TIME_SCALE = 1000.0

_started: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    if _is_xdist_controller(config):
        return  # it only hands tests out; each worker process starts its own servers
    from sandbox.config import SandboxConfig
    from sandbox.server import start_sandbox

    mongodb_uri = os.environ.get("MONGODB_URI")
    stack = start_stack(
        redis_url=os.environ.get("REDIS_URL"),
        mongodb_uri=mongodb_uri and _database_of_this_worker(mongodb_uri, config),
        database=f"sellersync-test-{os.getpid()}",
        sandbox=lambda: start_sandbox(config=SandboxConfig(time_scale=SANDBOX_TIME_SCALE)),
    )
    from services.platform.worker_metrics import flush_all

    stack.on_stop(flush_all)  # what in-process workers recorded, sent while Redis still answers
    _started["stack"] = stack
    redis_url, mongodb_uri, sandbox = stack.redis_url, stack.mongodb_uri, stack.sandbox
    env = {
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": f"sellersync-test-{os.getpid()}",
        "MONGODB_URI": mongodb_uri,
        "FERNET_KEY": "p3XkHCe7WZ3K8x8sQZ3yq0eV4m0m1mX2mZl7rQw9c2Y=",
        "JOB_MAX_RETRIES": "3",
        "JOB_MIN_BACKOFF_MS": "50",
        "JOB_MAX_BACKOFF_MS": "400",
        "JOB_TIME_LIMIT_SECONDS": "60",
        "SP_API_ENDPOINT": sandbox.url,
        "SP_API_LWA_ENDPOINT": sandbox.url,
        "SP_API_TIMEOUT_SECONDS": "5",
        "SP_API_RETRY_ATTEMPTS": "4",
        "SP_API_RETRY_WAIT_SECONDS": "0.01",
        "SP_API_RETRY_MAX_WAIT_SECONDS": "0.1",
        "SP_API_RETRY_DEADLINE_SECONDS": "10",
        "SP_API_QUOTA_TIME_SCALE": str(SANDBOX_TIME_SCALE),
        "API_TOKENS": "test-token-0123456789abcdef",
        "USER_TOKEN_SECRET": "test-user-token-secret-0123456789abcdef",
    }
    settings = configure(Settings.from_env(env))
    from models.migrate import create_indexes
    from services.platform.store import connect_store

    connect_store(settings)
    create_indexes()  # the release step, once


def _is_xdist_controller(config: pytest.Config) -> bool:
    """The main process of ``pytest -n N`` (pytest-xdist), which runs no test itself."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def _database_of_this_worker(uri: str, config: pytest.Config) -> str:
    """A shared MONGODB_URI gives each xdist worker a database of its own (tests empty theirs)."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    if not worker:
        return uri
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    database = parts.path.lstrip("/") or "sellersync-test"
    return urlunsplit(parts._replace(path=f"/{database}-{worker}"))


#: The reliability scenarios run in lanes: each lane's scenarios one after another on one xdist
#: worker, the lanes beside each other and beside the rest of the suite. The two restart scenarios
#: are in different lanes (no two servers are down at once); the lanes take about as long. A scenario
#: not listed here runs in lane c.
RELIABILITY_LANES = {
    "test_document_server_restart.py": "a",
    "test_orphans.py": "a",
    "test_deploy.py": "a",
    "test_redis_restart.py": "b",
    "test_long_jobs.py": "b",
    "test_partition.py": "c",
    "test_chaos.py": "c",
    "test_poison.py": "c",
}
#: Files whose tests each take seconds (subprocesses, whole topologies) and share no fixture with
#: each other: each test is a work unit of its own. (Checked at collection: a test of one of these
#: files that used a module-scoped fixture would set it up again on another worker.)
SPLIT_FILES = (
    "tests/actors/test_worker_crash.py",
    "tests/cli/test_cli_subprocess.py",
    "tests/cron/test_cron_processes.py",
    "tests/e2e/test_dev_killed.py",
    "tests/e2e/test_dev_web.py",
    "tests/e2e/test_first_look.py",
    "tests/e2e/test_lanes.py",
    "tests/e2e/test_required_settings.py",
    "tests/e2e/test_topology.py",
    "tests/security/test_fuzz.py",
    "tests/security/test_gunicorn_body_limit.py",
    "tests/security/test_onboarding_inputs.py",
    "tests/services/sync/test_spapi_fetch.py",
    "tests/web/test_web_gunicorn.py",
    "tests/web/test_web_openapi.py",
)
#: Fixture scopes that a whole file shares.
SHARED_SCOPES = ("class", "module", "package")


def work_unit(nodeid: str) -> str:
    """What one xdist worker runs, one test after another: a reliability lane, a test of
    SPLIT_FILES alone, or any other test's whole file (its module-scoped fixtures set up once)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/reliability/"):
        return f"reliability-{RELIABILITY_LANES.get(path.rsplit('/', 1)[1], 'c')}"
    return nodeid if path in SPLIT_FILES else path


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Work units as ``work_unit`` groups them (``--dist loadgroup`` would do it with marks, but
    pytest-xdist 3.8 cannot rename pytest 9's node ids, so it hands out single tests)."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


def _slow(item: pytest.Item) -> bool:
    return bool(item.get_closest_marker("e2e")) or item.nodeid.split("::", 1)[0] in SPLIT_FILES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The reliability lanes come first, then the end-to-end tests (marked ``e2e``: subprocesses,
    whole topologies) and the other slow files, then the rest.

    ``make test`` runs ``pytest -n N --no-loadscope-reorder`` with the scheduler above, which hands
    out work units in this order as workers free up: the longest units start at once and the quick
    ones fill in around them, rather than one slow unit starting last and the run waiting for it
    alone. A serial run is the same tests in another order.
    """
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if item.nodeid.split("::", 1)[0] in SPLIT_FILES and fixtures is not None:
            shared = [
                name
                for name, definitions in fixtures.name2fixturedefs.items()
                if any(definition.scope in SHARED_SCOPES for definition in definitions)
            ]
            if shared:
                raise pytest.UsageError(f"{item.nodeid} is in SPLIT_FILES but shares fixtures {shared}")
    reliability = {item for item in items if work_unit(item.nodeid).startswith("reliability-")}
    slow = {item.path for item in items if _slow(item)}
    items.sort(key=lambda item: (item not in reliability, item.path not in slow))


def pytest_unconfigure(config: pytest.Config) -> None:
    for thing in reversed(_started.values()):
        thing.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def settings() -> Settings:
    from services.platform.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def sandbox():
    return _started["stack"].sandbox  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def redis_client(settings):
    from services.platform.redis_pool import get_redis

    return get_redis(settings)


@pytest.fixture(scope="session")
def broker():
    import actors

    return actors.broker


@pytest.fixture(scope="session")
def producer(broker, settings):
    """The job producer every entry point builds: both lanes' actors on the broker."""
    import actors

    return actors.producer(settings)


@pytest.fixture(autouse=True)
def clean_state(request, settings, redis_client, sandbox) -> Iterator[None]:
    """Each test starts with an empty namespace, empty collections, a reset sandbox and no LWA cache."""
    from sp_api.auth import access_token_client

    from models.migrate import DOCUMENTS
    from services.platform.worker_metrics import flush_all

    flush_all()  # what this process's workers recorded in an earlier test goes before the namespace
    for name in redis_client.scan_iter(match=f"{settings.redis_namespace}:*", count=1000):
        redis_client.delete(name)
    for document in DOCUMENTS:
        document._get_collection().delete_many({})
    sandbox.state.reset()
    access_token_client.cache.clear()
    yield


@pytest.fixture
def worker(broker) -> Iterator[object]:
    """A real dramatiq.Worker in this process (2 threads), stopped after the test."""
    import dramatiq

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def make_user(settings) -> Callable[..., object]:
    """``make_user("u1", [("US", "acme-us"), ("DE", "acme-de")])``: a user with sandbox accounts."""
    from services.operations.accounts import connect_account, create_user
    from services.operations.demo import sandbox_token

    def make(user_id: str, accounts: list[tuple[str, str]] = (), **user_fields) -> object:
        user = create_user(user_id, **user_fields)
        for country, seller in accounts:
            connect_account(user_id, country, sandbox_token(seller), seller_id=seller, settings=settings)
        return user

    return make


@pytest.fixture
def mongo_commands(settings):
    """bench.cost's MongoDB command counter (the benchmark and the tests count alike), counting every
    thread's commands, the main thread's until the test turns ``main_thread_counts`` off."""
    from bench.cost import MongoCounter
    from models.connection import connect, disconnect

    listener = MongoCounter()
    listener.enabled = listener.main_thread_counts = True
    disconnect()
    connect(settings.mongodb_uri, event_listeners=[listener])
    yield listener
    disconnect()
    connect(settings.mongodb_uri)
