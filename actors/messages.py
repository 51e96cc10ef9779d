"""What a job's Dramatiq message holds, read and written here only.

A job message's id is the job id, its one argument the user id, and its options the job's trigger
plus the flags the middleware and the lanes set on a delivery (``promoted``, ``not_runnable``,
``first_look_cached``).
"""

from __future__ import annotations

import dramatiq

#: Message option: this delivery is the priority-lane copy of a promoted job (services.jobs.producer).
PROMOTED = "promoted"


def job_message(
    actor: dramatiq.Actor, job_id: str, user_id: str, trigger: str, **options: object
) -> dramatiq.Message:
    """The message of job ``job_id``: the user's sync by ``actor``, in that actor's queue."""
    return dramatiq.Message(
        queue_name=actor.queue_name,
        actor_name=actor.actor_name,
        args=(user_id,),
        kwargs={},
        options={"trigger": trigger, **options},
        message_id=job_id,
    )


def user_id_of(message: dramatiq.Message) -> str:
    """The user whose sync ``message`` is."""
    return message.args[0]
