"""Refresh tokens are encrypted at rest and appear nowhere else: not in logs, errors, API answers,
job records or Redis.

One real sync, end to end: the tokens are given to the API as a client would, a real Dramatiq worker
syncs the accounts against the sandbox (one token works, one is refused by LWA as revoked), every
log line at DEBUG, every API answer, every Redis key and value of the namespace and every stored
document are captured, and the tokens are looked for in all of it.
"""

from __future__ import annotations

import json
import logging
import secrets

import falcon
from cryptography.fernet import Fernet

from models import JobStatus, SellerAccount
from services.platform.logs import JsonFormatter
from tests.security.routes import concrete
from tests.support import wait_for
from web.openapi import build_document

USER = "u-tokens"
#: Loggers that are quiet by default but may print request details at DEBUG.
CHATTY = ("", "httpx", "httpcore", "urllib3", "sp_api", "dramatiq", "services", "actors", "web")


#: How to read a whole Redis value, by type.
READERS = {
    "string": lambda client, name: client.get(name),
    "hash": lambda client, name: client.hgetall(name),
    "list": lambda client, name: client.lrange(name, 0, -1),
    "set": lambda client, name: client.smembers(name),
    "zset": lambda client, name: client.zrange(name, 0, -1, withscores=True),
    "stream": lambda client, name: client.xrange(name),
}


def redis_dump(redis_client, namespace: str) -> str:
    """Every key of the namespace with its whole value, whatever its type, as one text."""
    lines = []
    for name in redis_client.scan_iter(match=f"{namespace}:*", count=1000):
        kind = redis_client.type(name).decode()
        lines.append(f"{name!r} {kind} {READERS[kind](redis_client, name)!r}")
    assert lines, "the namespace is empty: nothing was captured"
    return "\n".join(lines)


def mongo_dump() -> str:
    database = JobStatus._get_collection().database
    return "\n".join(
        f"{name} {document!r}"
        for name in database.list_collection_names()
        for document in database[name].find()
    )


def api_answers(client, user_id: str, job_ids: list[str]) -> list[str]:
    """The body and headers of every GET operation of the document, for this user and each job."""
    answers = []
    for path, item in build_document()["paths"].items():
        if "get" not in item:
            continue
        for job_id in job_ids:
            result = client.simulate_get(concrete(path, userId=user_id, jobId=job_id, country="US"))
            assert result.status_code < 500, (path, result.text)
            answers.append(f"{path} {result.status} {dict(result.headers)!r} {result.text}")
    return answers


def test_refresh_tokens_are_encrypted_at_rest_and_appear_nowhere_else(
    request, client, settings, redis_client, caplog
):
    # Given two refresh tokens: one the sandbox accepts, one it refuses as revoked (both secret)
    good = "Atzr|sandbox-tokens-us"
    revoked = f"Atzr|revoked-{secrets.token_hex(16)}"
    for name in CHATTY:
        caplog.set_level(logging.DEBUG, logger=name)
    answers: list[str] = []

    # When a client onboards the user and connects both accounts through the API (the first enqueues
    # the user's sync, the second finds it queued), a refused token shape is sent too, and a real
    # worker runs the sync
    answers.append(client.simulate_put(f"/app/users/{USER}", json={"email": "t@example.com"}).text)
    connected = [
        client.simulate_put(
            f"/app/users/{USER}/accounts/{country}", json={"sellerId": seller, "refreshToken": token}
        )
        for country, seller, token in (("US", "tokens-us", good), ("DE", "tokens-de", revoked))
    ]
    assert [r.status for r in connected] == [falcon.HTTP_201, falcon.HTTP_201], [r.text for r in connected]
    malformed = client.simulate_put(
        f"/app/users/{USER}/accounts/FR", json={"sellerId": "tokens-fr", "refreshToken": f"{revoked} x"}
    )
    assert malformed.status == falcon.HTTP_400
    answers += [r.text + repr(dict(r.headers)) for r in [*connected, malformed]]

    request.getfixturevalue("worker")

    def synced():
        jobs = list(JobStatus.objects(user_id=USER))
        return jobs if jobs and all(j.status in ("completed", "failed") for j in jobs) else None

    jobs = wait_for(synced, timeout=60)
    accounts = {a.country: a for a in SellerAccount.objects(user_id=USER)}
    # (the sync really ran: the good account synced, the revoked one is marked auth_error)
    assert accounts["US"].status == "active" and accounts["US"].last_synced_at is not None
    assert accounts["DE"].status == "auth_error" and accounts["DE"].last_error
    answers += api_answers(client, USER, [j.job_id for j in jobs])

    # Then each token is stored encrypted with FERNET_KEY, and only there
    fernet = Fernet(settings.fernet_key.encode())
    for country, token in (("US", good), ("DE", revoked)):
        stored = SellerAccount._get_collection().find_one({"user_id": USER, "country": country})
        assert stored["refresh_token"] != token
        assert fernet.decrypt(stored["refresh_token"].encode()).decode() == token
    # And neither token, nor the secret part of the revoked one, is in any log line, error, API
    # answer, job record, Redis key or value, or stored document
    formatter = JsonFormatter()
    captured = {
        "logs": caplog.text + "\n".join(formatter.format(r) for r in caplog.records),
        "API answers": "\n".join(answers),
        "job records": json.dumps([j.to_mongo().to_dict() for j in jobs], default=str),
        "Redis": redis_dump(redis_client, settings.redis_namespace),
        "MongoDB": mongo_dump(),
    }
    assert len(caplog.records) > 20 and "Enqueued job" in captured["logs"]
    for where, text in captured.items():
        for secret in (good, revoked, revoked.rsplit("-", 1)[1]):
            assert secret not in text, f"a refresh token is in the {where}"
