"""The hot paths' queries use an index: each command the code sends is explained by the server.

The commands are captured with pymongo's command monitoring while the public services run (due
users, a bulk enqueue, a whole sync, job by id, a user's jobs, the recent and failed lists), then each
query is sent back as ``explain``: its winning plan must not scan the collection.

Where the server's explain cannot be trusted, each query must instead constrain the leading fields of
a declared index, which is when MongoDB's planner can use that index. The test finds out which case
it is in: MongoDB plans ``{job_id, status}`` on the unique ``job_id`` index, while SecantusDB (the
embedded server) explains that query as a collection scan, although it runs it through the index.
"""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import monitoring
from pymongo.errors import OperationFailure

from models import JobStatus, User
from models.connection import connect, disconnect
from models.migrate import DOCUMENTS
from services.jobs.queries import JobQueries
from services.schedule.due_users import due_user_batches
from tests.support import finished, wait_for

#: Commands that read with a filter, and the field holding it.
QUERIES = {"find": "filter", "count": "query", "distinct": "query", "findAndModify": "query", "delete": None,
           "update": None, "aggregate": None}  # fmt: skip
#: The collections of our documents.
COLLECTIONS = {d._get_collection_name(): d for d in DOCUMENTS}


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, dict]] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in QUERIES and event.command.get(event.command_name) in COLLECTIONS:
            with self._lock:
                self.commands.append((event.command_name, copy.deepcopy(dict(event.command))))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


@pytest.fixture
def recorder(settings):
    recorder = Recorder()
    disconnect()
    connect(settings.mongodb_uri, event_listeners=[recorder])
    yield recorder
    disconnect()
    connect(settings.mongodb_uri)


def test_the_hot_paths_queries_use_an_index(
    recorder, broker, worker, make_user, settings, redis_client, producer
):
    # Given users with accounts, one of them due, and the services doing their daily work
    make_user("u-index", [("US", "index-us"), ("DE", "index-de")])
    make_user("u-other", [("JP", "other-jp")])
    User.objects(user_id="u-other").update_one(set__last_synced_at=datetime.now(UTC) - timedelta(days=1))
    due = [u for batch in due_user_batches(settings, redis_client, batch_size=100) for u in batch]
    assert "u-index" in due
    enqueued = producer.enqueue_users(due, "schedule", known=True)
    for e in enqueued:
        wait_for(lambda e=e: finished(e.job_id), timeout=60)
    queries = JobQueries(settings)
    queries.get_job(enqueued[0].job_id)
    queries.jobs_for_user("u-index", 10)
    queries.recent(50)
    queries.failed(100)

    # When every query they sent is explained by the server (if its explain plans like MongoDB's)
    trusted = explain_is_trustworthy(enqueued[0].job_id)
    problems = []
    for name, command in recorder.commands:
        for query in queries_of(name, command):
            plan = explain(query) if trusted else None
            if plan is None:
                if not leads_an_index(query):
                    problems.append(("no index for its fields", query))
            elif "COLLSCAN" in str(plan):
                problems.append(("collection scan", query))

    # Then none scans a collection
    assert recorder.commands, "no command was captured"
    assert problems == [], "\n".join(map(str, problems))


def queries_of(name: str, command: dict) -> list[dict]:
    """The (collection, filter, sort) of each query in one captured command."""
    collection = command[name]
    if name == "update":
        return [{"collection": collection, "filter": u["q"]} for u in command["updates"]]
    if name == "delete":
        return [{"collection": collection, "filter": d["q"]} for d in command["deletes"]]
    if name == "aggregate":
        match = next((stage["$match"] for stage in command["pipeline"] if "$match" in stage), {})
        return [{"collection": collection, "filter": match}]
    query = {"collection": collection, "filter": command.get(QUERIES[name]) or {}}
    if command.get("sort"):
        query["sort"] = dict(command["sort"])
    return [query]


def explain(query: dict) -> dict | None:
    """The server's winning plan for the query, or None when the server cannot explain it."""
    find = {"find": query["collection"], "filter": query["filter"]}
    if "sort" in query:
        find["sort"] = query["sort"]
    try:
        answer = JobStatus._get_db().command({"explain": find, "verbosity": "queryPlanner"})
    except OperationFailure:
        return None
    return answer.get("queryPlanner", {}).get("winningPlan")


def explain_is_trustworthy(job_id: str) -> bool:
    """True when the server plans a query with a field beyond the unique ``job_id`` index on it."""
    plan = explain({"collection": "job_statuses", "filter": {"job_id": job_id, "status": "completed"}})
    return plan is not None and "COLLSCAN" not in str(plan)


def leads_an_index(query: dict) -> bool:
    """True when the filter constrains the first field of a declared index (or ``_id``), or, with no
    filter, the sort follows an index: the cases in which MongoDB's planner can use that index."""
    filtered = {f for f in query["filter"] if not f.startswith("$")}
    for branch in query["filter"].get("$or", []):  # a field constrained in every branch counts too
        filtered |= set.intersection(*({f for f in b} for b in query["filter"]["$or"])) & set(branch)
    sort = list(query.get("sort", {}))
    indexes = [["_id"]] + [
        [name for name, _ in spec["fields"]] for spec in COLLECTIONS[query["collection"]]._meta["index_specs"]
    ]
    if filtered:
        return any(index[0] in filtered for index in indexes)
    return bool(sort) and any(index[: len(sort)] == sort for index in indexes)
