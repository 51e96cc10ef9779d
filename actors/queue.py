"""The JobQueue of services.jobs.producer on Dramatiq: messages whose id is the job id, in two lanes.

A job's lane (models.jobs.lane_of its trigger) picks the actor: the priority actor's queue for jobs a
person waits for, the standard actor's for the rest. Without a priority actor (tests, benchmarks of
one queue) every job takes the one actor given.

``send_many`` enqueues a whole batch on a RedisBroker in one round trip: one script call that, for
each message, does exactly what the broker's own ``dispatch`` script does for an ``enqueue`` command
(dramatiq/brokers/redis/dispatch.lua: ``hset <ns>:<queue>.msgs id data`` then ``rpush <ns>:<queue>
id``). The broker's enqueue middleware hooks run for every message as ``RedisBroker.enqueue`` runs
them. Other brokers (RabbitMQ) get one ``broker.enqueue`` per message. A test consumes such a batch
with the broker's own consumer, so a change of Dramatiq's Redis layout fails loudly.

With no enqueue hook to hand a ``Message`` to and Dramatiq's default JSON encoder, a batch's messages
are not built one by one: each lane's message is encoded once, with placeholders for the user and job
ids, and every message of the batch is that text with its own ids put in, JSON-escaped as the encoder
escapes them. Building and encoding a ``Message`` per job was most of a batch's time on our side; the
text is the same bytes ``Message.encode`` gives (a test compares them).
"""

from __future__ import annotations

import json
import os
from json.encoder import encode_basestring_ascii

import dramatiq
from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.encoder import JSONEncoder
from dramatiq.message import generate_unique_id, get_encoder

from actors.messages import PROMOTED, job_message
from models.jobs import lane_of

#: KEYS: each lane's message hash and queue, in pairs. ARGV, a pair per lane too: its messages' Redis
#: ids and encoded messages end to end (id, message, id, message, ...), and a JSON list of their lengths
#: in bytes. Two arguments a lane rather than one per id and message: packing and parsing thousands of
#: arguments cost the client and the server more than the writes themselves.
_ENQUEUE_MANY = """
for lane = 1, #KEYS / 2 do
  local messages, queue = KEYS[2 * lane - 1], KEYS[2 * lane]
  local data, lengths = ARGV[2 * lane - 1], cjson.decode(ARGV[2 * lane])
  local ids, at = {}, 1
  for i = 1, #lengths, 2 do
    local id = string.sub(data, at, at + lengths[i] - 1)
    at = at + lengths[i]
    redis.call('hset', messages, id, string.sub(data, at, at + lengths[i + 1] - 1))
    at = at + lengths[i + 1]
    ids[#ids + 1] = id
  end
  for i = 1, #ids, 1000 do
    redis.call('rpush', queue, unpack(ids, i, math.min(i + 999, #ids)))
  end
end
"""


class DramatiqJobQueue:
    def __init__(self, actor: dramatiq.Actor, *, priority_actor: dramatiq.Actor | None = None) -> None:
        self.actor = actor
        self.lanes = {"standard": actor, "priority": priority_actor or actor}

    def new_job_id(self) -> str:
        return generate_unique_id()

    def new_job_ids(self, count: int) -> list[str]:
        """``count`` new job ids of ``new_job_id``'s form (random UUIDs, version 4), from one read of
        ``os.urandom`` where ``uuid.uuid4`` makes one each: a quarter of the time of ``count`` calls."""
        digits = os.urandom(16 * count).hex()
        return [
            f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{_VARIANT[d[16]]}{d[17:20]}-{d[20:32]}"
            for d in (digits[at : at + 32] for at in range(0, 32 * count, 32))
        ]

    def actor_for(self, trigger: str) -> dramatiq.Actor:
        return self.lanes[lane_of(trigger)]

    def message(self, job_id: str, user_id: str, trigger: str, **options: object) -> dramatiq.Message:
        """The message of a new job, in its trigger's lane."""
        return job_message(self.actor_for(trigger), job_id, user_id, trigger, **options)

    def send(self, job_id: str, user_id: str, trigger: str) -> None:
        self.actor.broker.enqueue(self.message(job_id, user_id, trigger))

    def promote(self, job_id: str, user_id: str, trigger: str) -> None:
        """The priority-lane copy of a queued job (the standard-lane one is then skipped)."""
        actor = self.lanes["priority"]
        actor.broker.enqueue(job_message(actor, job_id, user_id, trigger, **{PROMOTED: True}))

    def send_many(self, jobs: list[tuple[str, str, str]]) -> None:
        """Enqueue ``(job_id, user_id, trigger)`` messages: all of them, or raise (then none is queued)."""
        broker = self.actor.broker
        if not isinstance(broker, RedisBroker):
            for job_id, user_id, trigger in jobs:
                self.send(job_id, user_id, trigger)
            return
        if not jobs:
            return
        messages: list[dramatiq.Message] = []
        lanes: dict[str, dict[str, str | bytes]] = {}  # queue name -> Redis message id -> message
        if _has_enqueue_hooks(broker) or type(get_encoder()) is not JSONEncoder:
            messages = [self._redis_message(*job) for job in jobs]
            for message in messages:
                broker.emit_before("enqueue", message, None)
            for m in messages:
                lanes.setdefault(m.queue_name, {})[m.options["redis_message_id"]] = m.encode()
        else:
            lanes = self._encoded(jobs)
        keys: list[str] = []
        args: list[bytes | str] = []
        for queue_name, encoded in lanes.items():  # each lane, in input order
            queue = f"{broker.namespace}:{queue_name}"
            keys += [f"{queue}.msgs", queue]
            args += _end_to_end(encoded)
        broker.client.register_script(_ENQUEUE_MANY)(keys=keys, args=args)
        for message in messages:
            broker.emit_after("enqueue", message, None)

    def _encoded(self, jobs: list[tuple[str, str, str]]) -> dict[str, dict[str, str | bytes]]:
        """Queue name -> Redis message id -> encoded message of the jobs, from one encoded message per
        trigger (the encoder's JSON: a string's escaped form does not depend on where it stands)."""
        lanes: dict[str, dict[str, str | bytes]] = {}
        forms: dict[str, tuple[dict[str, str | bytes], str]] = {}
        for job_id, user_id, trigger in jobs:
            if trigger not in forms:
                queue_name, form = self._form(trigger)
                forms[trigger] = lanes.setdefault(queue_name, {}), form
            lane, form = forms[trigger]
            lane[job_id] = form.format(
                user=encode_basestring_ascii(user_id), job=encode_basestring_ascii(job_id)
            )
        return lanes

    def _form(self, trigger: str) -> tuple[str, str]:
        """The queue name and encoded message of a ``trigger`` job, a ``str.format`` template of its ids."""
        message = self._redis_message(_JOB_ID_MARK, _USER_ID_MARK, trigger)
        text = message.encode().decode().replace("{", "{{").replace("}", "}}")
        form = text.replace(encode_basestring_ascii(_USER_ID_MARK), "{user}")
        return message.queue_name, form.replace(encode_basestring_ascii(_JOB_ID_MARK), "{job}")

    def _redis_message(self, job_id: str, user_id: str, trigger: str) -> dramatiq.Message:
        # RedisBroker.enqueue gives every enqueue a fresh Redis id, because a retry re-enqueues the same
        # message id. A first enqueue may use the job id itself: it is a fresh unique id already.
        return self.message(job_id, user_id, trigger, redis_message_id=job_id)


#: Placeholders of the ids in the encoded message of ``_form``: text found nowhere else in a message
#: (an id is escaped on its own, so an id holding one is harmless).
_USER_ID_MARK, _JOB_ID_MARK = "\x00user-id\x00", "\x00job-id\x00"


#: A hex digit of random bits -> the digit of the RFC 4122 variant (``10`` as its two high bits) that
#: keeps its two low bits, as ``uuid.UUID(..., version=4)`` sets them.
_VARIANT = {f"{n:x}": f"{8 | n & 3:x}" for n in range(16)}


def _end_to_end(messages: dict[str, str | bytes]) -> tuple[bytes, str]:
    """A lane's Redis message ids and messages, id, message, id, ..., as one byte string, and the JSON
    list of their lengths in it."""
    pieces = [p if isinstance(p, bytes) else p.encode() for pair in messages.items() for p in pair]
    return b"".join(pieces), json.dumps([len(piece) for piece in pieces])


def _has_enqueue_hooks(broker: dramatiq.Broker) -> bool:
    """Whether any middleware has its own enqueue hook (ours have none: no ``Message`` to build for it)."""
    return any(
        type(m).before_enqueue is not Middleware.before_enqueue
        or type(m).after_enqueue is not Middleware.after_enqueue
        for m in broker.middleware
    )
