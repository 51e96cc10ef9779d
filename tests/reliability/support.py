"""What the reliability scenarios share: sizes, sandbox sellers with fixed data, the real topology,
the ledger of what became of each job, and the report row each scenario leaves.

Sizes: every scenario runs in CI at a smoke size; ``RELIABILITY_FULL=1`` (``make reliability``) runs
full sizes. Both assert the same properties.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from embedded.processes import Supervisor
from embedded.procfile import read_procfile
from models import JobStatus
from models.jobs import FINISHED_STATUSES
from tests.support import settings_env, wait_for
from tests.support.amazon import amazon_order, fba_summary

#: Set (to 1) by ``make reliability``: run the full sizes.
FULL = os.environ.get("RELIABILITY_FULL") == "1"
#: Where each scenario appends its report row (JSON lines); unset: rows are not kept.
REPORT_PATH = os.environ.get("RELIABILITY_REPORT")

#: Countries of a user's accounts, in order: a user with k accounts has the first k.
COUNTRIES = ("US", "DE", "GB")
CURRENCIES = {"US": "USD", "DE": "EUR", "GB": "GBP"}
MARKETPLACES = {"US": "ATVPDKIKX0DER", "DE": "A1PA6795UKMFR9", "GB": "A1F83G8C2ARO7P"}

#: Worker settings of every scenario: a dead worker's messages are redelivered within seconds.
FAST_REDELIVERY = {
    "BROKER_HEARTBEAT_TIMEOUT_MS": "4000",
    "BROKER_MAINTENANCE_CHANCE": "1000000",
}


def size(ci: int, full: int) -> int:
    return full if FULL else ci


def seller_name(user_id: str, country: str) -> str:
    return f"{user_id}-{country.lower()}"


def fixed_seller_data(seller: str, country: str, today: datetime) -> dict:
    """A few orders and stock that never change with the clock: two runs minutes apart store the same."""
    rng = random.Random(seller)
    digest = zlib.crc32(seller.encode())
    currency = CURRENCIES[country]
    orders = []
    for number in range(rng.randint(3, 8)):
        days_ago = rng.randint(1, 25)
        purchased = (today - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0, microsecond=0)
        sku = f"SKU-{rng.randint(1, 3)}"
        quantity = rng.randint(1, 3)
        total = f"{rng.randint(5, 200)}.{rng.randint(0, 99):02d}"
        status = rng.choice(["Shipped", "Shipped", "Shipped", "Canceled"])
        order_id = f"{digest // 10**7 % 1000:03d}-{digest % 10**7:07d}-{number:07d}"
        orders.append(
            amazon_order(
                order_id,
                purchased,
                status,
                total,
                sku,
                quantity,
                number=number,
                currency=currency,
                marketplace_id=MARKETPLACES[country],
            )  # fmt: skip
        )
    inventory = []
    for n in range(1, 4):
        total = rng.randint(0, 40)
        inventory.append(fba_summary(f"SKU-{n}", sellable=rng.randint(0, 40), total=total))
    return {"orders": orders, "inventory": inventory}


def countries_of(index: int) -> tuple[str, ...]:
    """The countries of user number ``index``: 1, 2 or 3 accounts, in turn."""
    return COUNTRIES[: 1 + index % len(COUNTRIES)]


def set_up_sellers(sandbox, prefix: str, count: int, latency_ms: int | dict = 0) -> list[str]:
    """Fixed data (and ``latency_ms`` a call) for the sellers of users ``<prefix>0000``…; their ids."""
    today = datetime.now(UTC)
    user_ids = [f"{prefix}{index:04d}" for index in range(count)]
    for index, user_id in enumerate(user_ids):
        for country in countries_of(index):
            seller = seller_name(user_id, country)
            sandbox.state.set_data(seller, fixed_seller_data(seller, country, today))
            if latency_ms:
                sandbox.state.set_faults(seller, [{"latencyMs": latency_ms}])
    return user_ids


def make_users(make_user, sandbox, count: int, *, prefix: str = "r", latency_ms: int | dict = 0) -> list[str]:
    """``count`` users with 1-3 accounts each, on sellers with fixed data (and ``latency_ms`` a call)."""
    user_ids = set_up_sellers(sandbox, prefix, count, latency_ms)
    for index, user_id in enumerate(user_ids):
        make_user(user_id, [(country, seller_name(user_id, country)) for country in countries_of(index)])
    return user_ids


# -- the topology -------------------------------------------------------------------------------------
def worker_command(processes: int = 1, threads: int = 3, shutdown_timeout_ms: int | None = None) -> str:
    command = read_procfile()["worker"]
    command = command.replace("${WORKER_PROCESSES:-1}", str(processes))
    command = command.replace("${WORKER_CONCURRENCY:-3}", str(threads))
    if shutdown_timeout_ms is not None:
        command += f" --worker-shutdown-timeout {shutdown_timeout_ms}"
    return command


def start_topology(settings, log_path: Path, **env: str) -> Supervisor:
    """A Supervisor over the test's Redis, store and sandbox; its output goes to ``log_path``."""
    out = log_path.open("a")
    return Supervisor(settings_env(settings, **{**FAST_REDELIVERY, **env}), out=out)


def children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def kill(pid: int, signum: int = signal.SIGKILL) -> bool:
    try:
        os.kill(pid, signum)
        return True
    except ProcessLookupError:
        return False


# -- the ledger ---------------------------------------------------------------------------------------
@dataclass
class Ledger:
    """What became of a set of jobs: counts by status, and the jobs that ran more than once."""

    jobs_in: int
    by_status: Counter
    attempts: dict[str, int]
    users: dict[str, str]
    #: Jobs whose completion was logged more than once.
    duplicated: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return self.by_status.get("completed", 0)

    def extra_attempts_by_user(self) -> dict[str, int]:
        """Per user, the attempts beyond the first of its jobs (each one an interrupted attempt)."""
        extra: Counter = Counter()
        for job_id, attempts in self.attempts.items():
            extra[self.users[job_id]] += max(0, attempts - 1)
        return dict(extra)

    @property
    def lost(self) -> int:
        """Jobs that did not finish (still queued, running or retrying, or with no record at all)."""
        finished = sum(self.by_status.get(s, 0) for s in FINISHED_STATUSES)
        return self.jobs_in - finished

    def counts(self) -> dict[str, int]:
        """The report row's figures: jobs in, completed, lost, duplicated."""
        return {
            "jobs_in": self.jobs_in,
            "completed": self.completed,
            "lost": self.lost,
            "duplicated": len(self.duplicated),
        }


def ledger(job_ids: Iterable[str], log_text: str = "", collection=None) -> Ledger:
    """The fate of ``job_ids`` from their records (in ``collection``: the job_statuses of another store)."""
    job_ids = list(job_ids)
    collection = collection if collection is not None else JobStatus._get_collection()
    fields = {"job_id": 1, "user_id": 1, "status": 1, "attempts": 1, "_id": 0}
    records = {r["job_id"]: r for r in collection.find({"job_id": {"$in": job_ids}}, fields)}
    by_status = Counter(records[j]["status"] if j in records else "missing" for j in job_ids)
    completions: Counter = Counter()
    for line in log_text.splitlines():
        if " completed." in line and "Job " in line:
            completions[line.split("Job ", 1)[1].split(" ", 1)[0]] += 1
    duplicated = sorted(j for j in job_ids if completions[j] > 1)
    attempts = {j: r.get("attempts", 0) for j, r in records.items()}
    users = {j: r["user_id"] for j, r in records.items()}
    return Ledger(len(job_ids), by_status, attempts, users, duplicated)


def all_finished(job_ids: list[str], records=None) -> bool:
    """Whether every job has finished; ``records`` is the job collection (pymongo) to read, so that a
    test may keep its own client across a document-server restart."""
    return not _unfinished(job_ids, records)


def _unfinished(job_ids: list[str], records=None) -> list[dict]:
    """The records of ``job_ids`` not finished yet. Read as every unfinished record, the ids then
    matched here: a ``job_id $in`` of a thousand ids is a scan on the embedded document server, and
    polled every second it took half of that server's time, slowing the very recovery it timed."""
    records = records if records is not None else JobStatus._get_collection()
    wanted = set(job_ids)
    projection = {"job_id": 1, "user_id": 1, "status": 1, "_id": 0}
    return [
        r for r in records.find({"status": {"$nin": FINISHED_STATUSES}}, projection) if r["job_id"] in wanted
    ]


def wait_until_finished(job_ids: list[str], timeout: float, records=None, interval: float = 1.0) -> float:
    """Wait for every job to finish, and return the seconds it took; on timeout, fail naming the
    unfinished ones."""
    clock = Stopwatch()
    try:
        wait_for(lambda: all_finished(job_ids, records), timeout=timeout, interval=interval)
    except AssertionError:
        stuck = _unfinished(job_ids, records)
        raise AssertionError(
            f"unfinished: {[(r['job_id'], r['user_id'], r['status']) for r in stuck]}"
        ) from None
    return clock.seconds()


def completed_once(job_ids: list[str], log_text: str, collection=None) -> Ledger:
    """The jobs' ledger, once every job is checked to have completed, and none to have completed twice."""
    outcome = ledger(job_ids, log_text, collection=collection)
    assert outcome.by_status == {"completed": len(job_ids)}, outcome.by_status
    assert outcome.duplicated == []
    return outcome


# -- the report ---------------------------------------------------------------------------------------
@dataclass
class ReportRow:
    scenario: str
    done: str
    jobs_in: int
    completed: int
    lost: int
    duplicated: int
    recovery_seconds: float | None
    notes: str = ""


def report(row: ReportRow) -> None:
    """Append the scenario's row for ``make reliability`` (a no-op without RELIABILITY_REPORT)."""
    print(f"\nRELIABILITY {json.dumps(asdict(row))}")
    if REPORT_PATH:
        with open(REPORT_PATH, "a") as out:
            out.write(json.dumps(asdict(row)) + "\n")


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)


# -- the sandbox's counters ---------------------------------------------------------------------------
def refetched_accounts(
    sandbox, user_ids: Iterable[str], jobs_per_user: int | dict[str, int], killed_attempts: dict[str, int]
):
    """Accounts fetched more often than their users' jobs and killed attempts explain.

    A job fetches each of its user's accounts once: one getOrders page of fixed data, and the fetch
    forgets its progress once the account's data is stored, so fetching a completed account again
    calls getOrders again. An attempt killed mid-account may repeat that one account's getOrders
    (killed after the page was served, before it was recorded), so a user's accounts may show at most
    ``killed_attempts[user]`` extra calls in all. Returns ``{user_id: [(seller, served), ...]}`` of
    the users beyond that, or with an account never fetched.
    """
    from models import SellerAccount

    stats = sandbox.state.get_stats()
    sellers: dict[str, list[str]] = {}
    for account in SellerAccount.objects(user_id__in=list(user_ids)).only("user_id", "seller_id"):
        sellers.setdefault(account.user_id, []).append(account.seller_id)
    offenders = {}
    for user_id, names in sellers.items():
        jobs = jobs_per_user if isinstance(jobs_per_user, int) else jobs_per_user.get(user_id, 0)
        served = {name: stats.get(name, {}).get("getOrders", {}).get("served", 0) for name in names}
        extra = sum(max(0, n - jobs) for n in served.values())
        if extra > killed_attempts.get(user_id, 0) or any(n < jobs for n in served.values()):
            offenders[user_id] = sorted(served.items())
    return offenders


# -- content ------------------------------------------------------------------------------------------
#: Fields that say *when* something was stored, not *what*: left out when two runs are compared.
WHEN_FIELDS = {
    "_id",
    "computed_at",
    "computedAt",
    "synced_at",
    "units_30d_at",
    "last_synced_at",
    "updated_at",
}


def stored_content(settings, redis_client) -> dict[str, list]:
    """Orders, metrics, inventory, analyses and the analysis cache, as sorted plain data."""
    from models import Analysis, InventoryItem, Order, SalesMetric

    def rows(document) -> list:
        found = document._get_collection().find({}, {name: 0 for name in WHEN_FIELDS})
        return sorted(json.dumps(row, sort_keys=True, default=str) for row in found)

    cache = []
    for name in redis_client.scan_iter(match=f"{settings.redis_namespace}:cache:*", count=1000):
        value = json.loads(redis_client.get(name))
        value = {k: v for k, v in value.items() if k not in WHEN_FIELDS} if isinstance(value, dict) else value
        cache.append(json.dumps([name.decode(), value], sort_keys=True, default=str))
    return {
        "orders": rows(Order),
        "sales_metrics": rows(SalesMetric),
        "inventory": rows(InventoryItem),
        "analyses": rows(Analysis),
        "cache": sorted(cache),
    }


def content_differences(expected: dict[str, list], found: dict[str, list]) -> dict[str, dict[str, list]]:
    """What differs between two ``stored_content`` readings, whole: per part, the rows only one of them
    holds, a row held twice counting twice (empty when they are equal). An assertion on it names every
    differing row in full, where pytest's comparison of the two readings cuts its diff short."""
    differences = {}
    for part in sorted(expected.keys() | found.keys()):
        was, now = Counter(expected.get(part, [])), Counter(found.get(part, []))
        if was != now:
            differences[part] = {
                "missing": sorted((was - now).elements()),
                "unexpected": sorted((now - was).elements()),
            }
    return differences


def forget_synced_data(settings, redis_client) -> None:
    """Back to before the first sync: no data, no jobs, no watermarks (users and accounts stay)."""
    from models import Analysis, InventoryItem, Order, SalesMetric, SellerAccount, User

    for document in (Order, SalesMetric, InventoryItem, Analysis, JobStatus):
        document._get_collection().delete_many({})
    SellerAccount._get_collection().update_many(
        {}, {"$unset": {"last_synced_at": "", "orders_cursor": "", "last_error": ""}}
    )
    User._get_collection().update_many({}, {"$unset": {"last_synced_at": ""}})
    for name in redis_client.scan_iter(match=f"{settings.redis_namespace}:*", count=1000):
        if any(part in name for part in (b":cache:", b":job:", b":active:", b":quota:")):
            redis_client.delete(name)


def ready_status(url: str) -> tuple[int, float]:
    """``(status code, seconds)`` of one GET of /ready; code 0 when it did not answer at all."""
    import requests

    started = time.monotonic()
    try:
        code = requests.get(url, timeout=10).status_code
    except requests.RequestException:
        code = 0
    return code, time.monotonic() - started


#: How long a server stays down in the restart scenarios (10 s, as a managed failover takes).
DOWN_SECONDS = 10.0
#: The bound on /ready while a dependency is down (the tests allow a margin on a busy machine).
READY_WITHIN_SECONDS = 2.0


def outage(server, ready_url: str) -> tuple[list[tuple[int, float]], Stopwatch]:
    """Stop ``server`` for DOWN_SECONDS while polling /ready, then restart it on the same storage: what
    /ready answered, and a stopwatch started at the restart."""
    server.stop()
    answers = ready_while_down(ready_url, DOWN_SECONDS)
    server.restart()
    return answers, Stopwatch()


def ready_refused_quickly(answers: list[tuple[int, float]]) -> float:
    """Assert that /ready answered 503 all along, each within READY_WITHIN_SECONDS (plus a margin for
    a busy machine); the slowest answer's seconds."""
    assert answers and all(code == 503 for code, _ in answers), answers
    slowest = max(seconds for _, seconds in answers)
    assert slowest < READY_WITHIN_SECONDS + 1.0, f"/ready took {slowest:.2f} s"
    return slowest


def ready_while_down(url: str, seconds: float) -> list[tuple[int, float]]:
    """What /ready answers, twice a second, for ``seconds`` (while a server is down)."""
    down = Stopwatch()
    answers = []
    while down.seconds() < seconds:
        answers.append(ready_status(url))
        time.sleep(0.5)
    return answers
