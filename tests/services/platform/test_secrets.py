"""Refresh tokens: encrypted at rest, and never in a log line, a job error or a Redis key or value."""

from __future__ import annotations

import logging

from models import JobStatus, SellerAccount
from services.operations.demo import sandbox_token
from services.platform.secrets import decrypt_token
from tests.support import finished, wait_for

SELLERS = {"US": "secret-us", "DE": "secret-de", "JP": "secret-jp", "GB": "secret-gb"}


def test_no_log_line_job_error_or_redis_entry_contains_a_refresh_token(
    broker, worker, make_user, sandbox, settings, redis_client, caplog, producer
):
    # Given accounts that succeed, lose their grant, get 403 and keep failing with 500s
    caplog.set_level(logging.DEBUG)
    for name in ("sp_api", "httpx", "httpcore", "dramatiq"):
        caplog.set_level(logging.DEBUG, logger=name)
    make_user("u-secret", list(SELLERS.items()))
    sandbox.state.set_faults("secret-de", [{"lwa": "invalid_grant"}])
    sandbox.state.set_faults("secret-jp", [{"operation": "getOrders", "status": 403}])
    sandbox.state.set_faults("secret-gb", [{"operation": "getOrders", "status": 500}])

    # When the job runs to its end (failed: GB never recovers)
    enqueued = producer.enqueue_user("u-secret")
    record = wait_for(lambda: finished(enqueued.job_id), timeout=30)
    assert record.status == "failed"
    assert {a.country: a.status for a in record.accounts} == {
        "US": "completed",
        "DE": "auth_error",
        "JP": "auth_error",
        "GB": "failed",
    }

    # Then the tokens are stored encrypted
    tokens = [sandbox_token(seller) for seller in SELLERS.values()]
    secrets = [*tokens, *(t.split("|", 1)[1] for t in tokens)]  # with or without the "Atzr|" prefix
    for account in SellerAccount.objects(user_id="u-secret"):
        assert account.refresh_token not in tokens
        assert decrypt_token(account.refresh_token, settings) == sandbox_token(SELLERS[account.country])
        assert not any(s in (account.last_error or "") for s in secrets)
    # And no log line (with its traceback), job record or Redis key or value contains one
    assert caplog.records, "nothing was logged"
    for entry in caplog.records:
        text = entry.getMessage() + (caplog.handler.format(entry) if entry.exc_info else "")
        assert not any(s in text for s in secrets), text
    stored = str(JobStatus.objects.get(job_id=enqueued.job_id).to_mongo())
    assert not any(s in stored for s in secrets)
    for name in redis_client.scan_iter(match=f"{settings.redis_namespace}:*"):
        kind = redis_client.type(name).decode()
        values = {
            "string": lambda n: [redis_client.get(n)],
            "hash": lambda n: [*redis_client.hkeys(n), *redis_client.hvals(n)],
            "set": lambda n: list(redis_client.smembers(n)),
            "zset": lambda n: redis_client.zrange(n, 0, -1),
            "list": lambda n: redis_client.lrange(n, 0, -1),
        }.get(kind, lambda n: [])(name)
        blob = b" ".join([name, *[v for v in values if isinstance(v, bytes)]])
        assert not any(s.encode() in blob for s in secrets), name
