"""The two lanes of sync jobs: two Dramatiq queues, one actor each, on the same function.

- ``process_user_now`` on ``sync_priority`` (Dramatiq priority 0): jobs a person waits for;
- ``process_user`` on ``sync`` (priority 10): the scheduler's jobs.

A worker consumes every declared queue (or those named by ``--queues``) into one in-process priority
queue; a free worker thread takes the message with the lowest priority number first, so a priority
job waits at most for a thread to free up, not for the wave of scheduled jobs ahead of it. Which lane
a job takes is decided by its trigger (``models.jobs.lane_of``).

A priority job that has cached its first look and then hands its worker back to wait for an SP-API
quota (a first sync's orders backfill) comes back in the standard lane: the person has their
numbers, and the hour-long backfill must not keep going ahead of the scheduler's jobs.
"""

from __future__ import annotations

import dramatiq

from services.jobs.producer import PRIORITY_QUEUE_NAME, QUEUE_NAME

#: The actors of the two lanes.
PRIORITY_ACTOR = "process_user_now"
STANDARD_ACTOR = "process_user"
#: Dramatiq actor priorities: a worker runs the lowest number first among the messages it holds.
PRIORITY_LANE_PRIORITY = 0
STANDARD_LANE_PRIORITY = 10
#: Message option: the job has cached the first look of every new account it is syncing.
FIRST_LOOK_CACHED = "first_look_cached"


def after_quota_wait(message: dramatiq.Message) -> dramatiq.Message:
    """The message to requeue after a quota wait: a priority job past its first look moves to the
    standard lane; any other message stays where it is."""
    if message.actor_name == PRIORITY_ACTOR and message.options.get(FIRST_LOOK_CACHED):
        return message.copy(queue_name=QUEUE_NAME, actor_name=STANDARD_ACTOR)
    return message


__all__ = ["PRIORITY_QUEUE_NAME", "QUEUE_NAME", "after_quota_wait"]
