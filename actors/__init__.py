"""Dramatiq actors. Workers start with ``dramatiq actors``.

Importing this package builds the broker (first, before any actor is declared), connects the
document store (a worker process needs it before its first message) and declares the actors. Every
process that enqueues jobs (web, scheduler, CLI, dev mode) builds its producer with :func:`producer`.
"""

from actors.broker import broker  # noqa: I001  (the broker must exist before any actor module)
from actors.queue import DramatiqJobQueue
from actors.sync import process_user, process_user_now
from services.jobs.producer import JobProducer
from services.platform.settings import Settings, get_settings
from services.platform.store import connect_store

connect_store(get_settings())


def producer(settings: Settings) -> JobProducer:
    """The job producer of a process: both lanes' actors on the process's broker."""
    return JobProducer(DramatiqJobQueue(process_user, priority_actor=process_user_now), settings)


__all__ = ["broker", "process_user", "process_user_now", "producer"]
