"""How far one job got with one account's fetch, kept in Redis so that a redelivery resumes it."""

from __future__ import annotations

import redis

from services.platform.redis_pool import key
from services.platform.settings import Settings

#: Seconds a job's fetch progress outlives its last write (covers every retry's backoff).
PROGRESS_TTL = 7 * 86_400


class FetchProgress:
    """How far one job got with one account's fetch: finished steps and the orders listing's place.

    A Redis hash ``<ns>:job:<job_id>:fetch:<account_id>``; without a Redis client it lives in memory
    (one call of :func:`fetch_account`). It belongs to the job: another job starts from the watermark.
    Only the one delivery of the job that is running writes it, so the hash is read once (one
    ``HGETALL`` on first use) and then kept beside the writes, not read again for every step.
    """

    def __init__(
        self, client: redis.Redis | None = None, settings: Settings | None = None, *parts: object
    ) -> None:
        self._client = client
        self._key = key(settings, *parts) if client is not None and settings is not None else ""
        self._memory: dict[str, str] | None = {} if client is None else None
        #: The hash's expiry is set with this delivery's first write: PROGRESS_TTL outlives any
        #: delivery (AgeLimit drops a message after a day), so the later writes need not renew it.
        self._expires = False
        #: Fields marked here and not written yet (``mark``; ``save`` writes them).
        self._marked: dict[str, str] = {}

    @classmethod
    def for_job(cls, client: redis.Redis, settings: Settings, job_id: str, account_id: str) -> FetchProgress:
        return cls(client, settings, "job", job_id, "fetch", account_id)

    def _values(self) -> dict[str, str]:
        if self._memory is None:
            assert self._client is not None
            stored = self._client.hgetall(self._key)
            self._memory = {k.decode(): v.decode() for k, v in stored.items()}
        return self._memory

    def get(self, name: str) -> str | None:
        return self._values().get(name)

    def set(self, name: str, value: str) -> None:
        """Set ``name`` now, with the fields marked before it (one write)."""
        self.mark(name, value)
        self.save()

    def mark(self, name: str, value: str) -> None:
        """Set ``name`` here; it is written with the next ``set`` or ``save``. For a step whose
        repeat is cheap: a redelivery that finds it unwritten does it again."""
        self._values()[name] = value
        self._marked[name] = value

    def save(self) -> None:
        """Write the fields marked and not written yet (nothing: no round trip)."""
        marked, self._marked = self._marked, {}
        if self._client is None or not marked:
            return
        if self._expires:
            self._client.hset(self._key, mapping=marked)
            return
        pipe = self._client.pipeline(transaction=False)  # no MULTI/EXEC: the two need not be atomic
        pipe.hset(self._key, mapping=marked)
        pipe.expire(self._key, PROGRESS_TTL)
        pipe.execute()
        self._expires = True

    def delete(self, name: str) -> None:
        """Forget ``name``: no round trip when the hash (mirrored here since its one read) lacks it."""
        if self._values().pop(name, None) is not None and self._client is not None:
            self._client.hdel(self._key, name)

    def clear(self) -> None:
        self._memory, self._marked = {}, {}
        if self._client is not None:
            self._client.delete(self._key)
            self._expires = False
