"""``sellersync doctor`` on a healthy system, then with each fault: each reported by name, exit 1."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from models.migrate import DOCUMENTS, create_indexes


@pytest.fixture
def healthy(make_user, worker, broker, settings, redis_client, producer):
    """A user with a sandbox account, a live worker, and a scheduler leader that has ticked."""
    from cron.scheduler import SyncScheduler

    make_user("u1", [("US", "acme-us")])
    scheduler = SyncScheduler(settings, producer, redis_client)
    assert scheduler.tick() is not None
    yield
    scheduler.close(timeout=5)


@pytest.fixture
def no_release_step():
    """Every collection without its declared indexes, as before the release step; put back afterwards."""
    for document in DOCUMENTS:
        document._get_collection().drop_indexes()
    yield
    create_indexes()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def statuses(ran) -> dict[str, str]:
    return {c["name"]: c["status"] for c in ran.json()["checks"]}


def test_a_healthy_system_passes_every_check(sellersync, healthy):
    # When the doctor runs on a system with everything up
    ran = sellersync("doctor", "--json")
    # Then every check is ok and the exit code is 0
    checks = statuses(ran)
    assert checks == dict.fromkeys(
        [
            "settings",
            "redis",
            "clock",
            "document_store",
            "indexes",
            "fernet_key",
            "broker",
            "workers",
            "scheduler",
            "spapi",
        ],
        "ok",
    ), ran.json()
    assert ran.code == 0 and ran.json()["ok"] is True
    details = {c["name"]: c["detail"] for c in ran.json()["checks"]}
    assert details["redis"].startswith("Redis ")
    assert "na ok" in details["spapi"]
    assert "1 worker process alive" in details["workers"]
    table = sellersync("doctor")
    assert table.code == 0 and "All 10 checks passed." in table.out


def test_redis_unreachable_is_reported_by_name_with_its_fix(sellersync, healthy, settings):
    # Given settings whose REDIS_URL names a port nobody listens on
    broken = replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    # When the doctor runs
    ran = sellersync("doctor", settings=broken)
    data = sellersync("doctor", "--json", settings=broken)
    # Then it fails, naming redis (and the checks that need it as not checked), with the fix
    assert ran.code == 1
    assert "FAIL  redis: cannot reach Redis at 127.0.0.1:" in ran.out
    assert "fix: start Redis, or set REDIS_URL to a reachable server" in ran.out
    assert statuses(data)["redis"] == "fail"
    assert statuses(data)["workers"] == "fail" and statuses(data)["document_store"] == "ok"


def test_a_wrong_fernet_key_is_reported_by_name(sellersync, healthy, settings):
    # Given a FERNET_KEY other than the one the stored token was encrypted with
    wrong = replace(settings, fernet_key=Fernet.generate_key().decode())
    # When the doctor runs
    ran = sellersync("doctor", "--json", settings=wrong)
    # Then fernet_key fails, saying which token it could not decrypt, and SP-API is not tried
    assert ran.code == 1
    checks = {c["name"]: c for c in ran.json()["checks"]}
    assert checks["fernet_key"]["status"] == "fail"
    assert "cannot decrypt the stored refresh token of u1/US" in checks["fernet_key"]["detail"]
    assert checks["spapi"]["status"] == "fail" and "not checked" in checks["spapi"]["detail"]
    assert checks["redis"]["status"] == "ok"


def test_missing_indexes_say_the_release_step_has_not_run(sellersync, healthy, no_release_step):
    # When the doctor runs on a store whose indexes were never created
    ran = sellersync("doctor")
    # Then the indexes check fails by name, with the release command as the fix
    assert ran.code == 1
    assert "FAIL  indexes: indexes missing (" in ran.out
    assert "users: user_id" in ran.out
    assert "fix: run the release step: python -m services.operations.release" in ran.out
    assert "1 of 10 checks failed: indexes." in ran.out


def test_no_worker_and_no_scheduler_are_reported_with_how_to_start_them(sellersync, make_user):
    make_user("u1", [("US", "acme-us")])
    ran = sellersync("doctor", "--json")
    checks = statuses(ran)
    assert ran.code == 1
    assert checks["workers"] == "fail" and checks["scheduler"] == "fail"
    assert [name for name, status in checks.items() if status == "fail"] == ["workers", "scheduler"]
