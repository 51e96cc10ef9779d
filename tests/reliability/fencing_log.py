"""Reading the workers' logs for interleaved executions: did any job's writes overlap between two?

Each execution logs its start with its fencing token (``Job J for user U started (retry N), fencing
token T.``, or ``… resumed after a quota wait, fencing token T.``) and its end: recorded (``Job J
for user U completed … (fencing token T).``), refused by
the record (``… the execution with fencing token T ended … its end is not recorded.``) or stopped
for a lost lease (``… the execution with fencing token T lost …``). Two executions of a job
interleave when an older one's end is *recorded* after a newer one started, or when tokens do not
grow in the order the executions started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TIME = re.compile(r"\[?(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3})")
_START = re.compile(
    r"Job (\S+) for user \S+ (?:started \(retry \d+\)|resumed after a quota wait), fencing token (\d+)\."
)
_RECORDED = re.compile(
    r"Job (\S+) for user \S+ (completed|failed|cancelled|retrying).*\(fencing token (\d+)\)\."
)
_STOPPED = re.compile(r"job (\S+): the execution with fencing token (\d+) lost")
_REFUSED = re.compile(r"Job (\S+) for user \S+: the execution with fencing token (\d+) ended")


@dataclass
class Execution:
    token: int
    host: str
    started: tuple[str, int]
    #: (time, line number) of the end the record accepted, if any.
    recorded: tuple[str, int] | None = None
    #: The status of that end (completed, retrying, …).
    status: str | None = None
    stopped: bool = False


@dataclass
class JobExecutions:
    job_id: str
    executions: dict[int, Execution] = field(default_factory=dict)

    def completions(self) -> int:
        """How many executions had a completion recorded (exactly one, for a job run once)."""
        return sum(1 for e in self.executions.values() if e.status == "completed")

    def ordered(self) -> list[Execution]:
        return sorted(self.executions.values(), key=lambda e: e.started)

    def problems(self) -> list[str]:
        """What breaks the rule: tokens not growing with start order, or an older execution's end
        recorded after a newer one started."""
        found = []
        ordered = self.ordered()
        for older, newer in zip(ordered, ordered[1:], strict=False):
            if newer.token <= older.token:
                found.append(f"{self.job_id}: token {newer.token} started after {older.token}")
            if older.recorded is not None and older.recorded > newer.started:
                found.append(f"{self.job_id}: token {older.token}'s end recorded after {newer.token} started")
        return found


def read(log_text: str) -> dict[str, JobExecutions]:
    """Every job's executions, from supervisor output (``<name> | <line>``; the name is the host's)."""
    jobs: dict[str, JobExecutions] = {}

    def execution(job_id: str, token: int, host: str, at: tuple[str, int]) -> Execution:
        job = jobs.setdefault(job_id, JobExecutions(job_id))
        return job.executions.setdefault(token, Execution(token, host, at))

    for number, line in enumerate(log_text.splitlines()):
        host = line.split("|", 1)[0].strip()
        stamp = _TIME.search(line)
        at = (stamp.group(1).replace("T", " ").replace(".", ",") if stamp else "", number)
        if match := _START.search(line):
            execution(match.group(1), int(match.group(2)), host, at).started = at
        elif match := _RECORDED.search(line):
            ended = execution(match.group(1), int(match.group(3)), host, at)
            ended.recorded, ended.status = at, match.group(2)
        elif match := _STOPPED.search(line) or _REFUSED.search(line):
            execution(match.group(1), int(match.group(2)), host, at).stopped = True
    return jobs


def interleaved(log_text: str) -> list[str]:
    """The problems of every job in the log (empty: no two executions of a job wrote at once)."""
    return [problem for job in read(log_text).values() for problem in job.problems()]
