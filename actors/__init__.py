"""Dramatiq actors. Workers start with ``dramatiq actors``.

Importing this package builds the broker (first, before any actor is declared), connects the
document store, declares the actors and registers the job queue with services.jobs.producer.
"""

from actors.broker import broker  # noqa: I001  (the broker must exist before any actor module)
from actors.queue import DramatiqJobQueue
from actors.sync import process_user, process_user_now
from services.jobs.producer import configure_queue
from services.platform.store import connect_store

connect_store()
configure_queue(DramatiqJobQueue(process_user, priority_actor=process_user_now))

__all__ = ["broker", "process_user", "process_user_now"]
