"""The JobQueue of services.jobs on Dramatiq: messages whose id is the job id."""

from __future__ import annotations

import dramatiq
from dramatiq.message import generate_unique_id


class DramatiqJobQueue:
    def __init__(self, actor: dramatiq.Actor) -> None:
        self.actor = actor

    def new_job_id(self) -> str:
        return generate_unique_id()

    def message(self, job_id: str, user_id: str, trigger: str) -> dramatiq.Message:
        return dramatiq.Message(
            queue_name=self.actor.queue_name,
            actor_name=self.actor.actor_name,
            args=(user_id,),
            kwargs={},
            options={"trigger": trigger},
            message_id=job_id,
        )

    def send(self, job_id: str, user_id: str, trigger: str) -> None:
        self.actor.broker.enqueue(self.message(job_id, user_id, trigger))

    def send_many(self, jobs: list[tuple[str, str, str]]) -> None:
        for job_id, user_id, trigger in jobs:
            self.send(job_id, user_id, trigger)
