"""What every benchmark shares: the loopback servers, seeded users, the figures and their table.

Every benchmark starts its own servers on 127.0.0.1 (an embedded redis-server, the embedded document
server, the SP-API sandbox in this process), so it runs in a fresh clone and sends nothing off the
machine; REDIS_URL and MONGODB_URI are deliberately ignored. Each returns :class:`Figure` rows: the
figure, ours, the baseline measured in the same run, their ratio and the target.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
#: Where ``python -m bench`` leaves the figures of its last run (git-ignored: machine-specific).
RESULTS = ROOT / "bench" / "results.json"


@dataclass
class Figure:
    """One row of the table: ``ratio`` is ours against the baseline (None: no baseline applies)."""

    benchmark: str
    name: str
    ours: float | None
    unit: str = ""
    baseline: float | None = None
    ratio: float | None = None
    #: The target as text (``≥ 10``, ``≤ 1.10``), or "" for an informative figure.
    target: str = ""
    #: True/False: the target is met or not; None: no target.
    ok: bool | None = None
    note: str = ""

    def check(self, value: float | None = None) -> Figure:
        """Set ``ok`` by comparing ``value`` (default: ratio, else ours) with the target."""
        value = value if value is not None else self.ratio if self.ratio is not None else self.ours
        if not self.target or value is None:
            return self
        op, bound = self.target.split()
        limit = float(bound.rstrip("%x×"))
        self.ok = value >= limit if op == "≥" else value <= limit if op == "≤" else value < limit
        return self


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def table(figures: Iterable[Figure]) -> str:
    """The figures as one fixed-width table: figure, ours, baseline, ratio, target, status."""
    rows = [("figure", "ours", "baseline", "ratio", "target", "")]
    for f in figures:
        status = "" if f.ok is None else "ok" if f.ok else "MISSED"
        unit = f" {f.unit}" if f.unit else ""
        rows.append(
            (
                f"{f.benchmark}: {f.name}",
                fmt(f.ours) + unit,
                fmt(f.baseline) + unit,
                fmt(f.ratio),
                f.target,
                status,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_results(figures: list[Figure], extra: dict[str, Any], path: Path = RESULTS) -> None:
    document = {
        "writtenAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpus": os.cpu_count(),
        "figures": [asdict(f) for f in figures],
        **extra,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def alternate(rounds: int, *runs: Callable[[int], None]) -> None:
    """Run each of ``runs`` once per round, in turn (A B A B …): drift hits every side alike."""
    for index in range(rounds):
        for run in runs:
            run(index)


# -- servers ------------------------------------------------------------------------------------------
@dataclass
class Stack:
    """The loopback servers of one benchmark and the settings (and environment) that point at them."""

    redis_url: str
    mongodb_uri: str
    namespace: str
    fernet_key: str
    sandbox: Any = None
    stops: list[Callable[[], None]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    #: Process ids of the servers ("redis", "documents"); the sandbox runs in this process.
    pids: dict[str, int] = field(default_factory=dict)

    def stop(self) -> None:
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception as exc:  # a server already gone must not hide the benchmark's result
                print(f"(could not stop a server: {exc})")
        self.stops.clear()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_stack(
    *, time_scale: float | None = 1000.0, settings: dict[str, str] | None = None, configure_here: bool = True
) -> Stack:
    """Start redis-server, the document server and (``time_scale`` not None) the sandbox; create the
    indexes (the release step) and, with ``configure_here``, install the settings in this process.

    ``settings`` are extra environment values for every process (this one and the workers).
    """
    from embedded.document_server import start_document_server
    from embedded.redis_server import start_embedded_redis

    stops: list[Callable[[], None]] = []
    try:
        redis_server = start_embedded_redis()
        stops.append(redis_server.stop)
        documents = start_document_server(database=f"sellersync-bench-{os.getpid()}")
        stops.append(documents.stop)
        sandbox = None
        if time_scale is not None:
            from sandbox.config import SandboxConfig
            from sandbox.server import start_sandbox

            sandbox = start_sandbox(config=SandboxConfig(time_scale=time_scale))
            stops.append(sandbox.stop)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    stack = Stack(
        redis_url=redis_server.url,
        mongodb_uri=documents.uri,
        namespace=f"sellersync-bench-{uuid.uuid4().hex[:8]}",
        fernet_key=Fernet.generate_key().decode(),
        sandbox=sandbox,
        stops=stops,
        pids={"redis": redis_server.process.pid, "documents": documents.process.pid},
    )
    env = {
        "REDIS_URL": stack.redis_url,
        "MONGODB_URI": stack.mongodb_uri,
        "REDIS_NAMESPACE": stack.namespace,
        "FERNET_KEY": stack.fernet_key,
        "API_TOKENS": "bench-token-" + uuid.uuid4().hex,
        "JOB_TIME_LIMIT_SECONDS": "600",
    }
    if sandbox is not None:
        env.update(
            SP_API_ENDPOINT=sandbox.url,
            SP_API_LWA_ENDPOINT=sandbox.url,
            SP_API_QUOTA_TIME_SCALE=str(time_scale),
            SANDBOX_TIME_SCALE=str(time_scale),
        )
    env.update(settings or {})
    stack.env = env
    try:
        if configure_here:
            from models.migrate import create_indexes
            from services.platform.settings import Settings, configure
            from services.platform.store import connect_store

            connect_store(configure(Settings.from_env(env, dotenv_path=None)))
            create_indexes()
    except BaseException:
        stack.stop()
        raise
    return stack


def process_env(stack: Stack, **extra: str) -> dict[str, str]:
    """The environment of a process the benchmark starts: this one's, minus our settings, plus the stack's."""
    from services.platform.settings import Settings

    ours = set(Settings().to_env()) | {name.upper() for name in Settings.__dataclass_fields__}
    base = {k: v for k, v in os.environ.items() if k not in ours}
    return {**base, **stack.env, "LOG_LEVEL": "WARNING", **extra}


# -- users ---------------------------------------------------------------------------------------------
#: Marketplaces that seeded accounts use, one region each, so that a user's accounts differ.
COUNTRIES = ("US", "DE", "JP")


def seed_users(
    stack: Stack,
    user_ids: list[str],
    *,
    accounts: Callable[[random.Random], int] = lambda rng: 1,
    profile: Callable[[random.Random], dict] | None = None,
    faults: list[dict] | None = None,
    seed: int = 11,
) -> list[str]:
    """Insert users with 1-3 sandbox seller accounts each (bulk inserts of the real documents), give
    each seller a sandbox profile and faults; returns the sellers."""
    from models import SellerAccount, User
    from services.platform.secrets import encrypt_token
    from services.platform.settings import get_settings
    from services.sync.marketplaces import marketplace_for

    settings = get_settings()
    rng = random.Random(seed)
    users, sellers_docs, sellers = [], [], []
    for user_id in user_ids:
        users.append(User(user_id=user_id, email=f"{user_id}@example.com", sync_enabled=True).to_mongo())
        for country in COUNTRIES[: accounts(rng)]:
            marketplace = marketplace_for(country)
            seller = f"{user_id}-{country.lower()}"
            sellers.append(seller)
            sellers_docs.append(
                SellerAccount(
                    user_id=user_id,
                    region={"US": "na", "DE": "eu", "JP": "fe"}[country],
                    country=country,
                    marketplace_id=marketplace.marketplace_id,
                    seller_id=seller,
                    refresh_token=encrypt_token(f"Atzr|sandbox-{seller}", settings),
                    status="active",
                ).to_mongo()
            )
            if stack.sandbox is not None:
                if profile is not None:
                    stack.sandbox.state.set_profile(seller, profile(rng))
                if faults:
                    stack.sandbox.state.set_faults(seller, faults)
    for start in range(0, len(users), 5000):
        User._get_collection().insert_many(users[start : start + 5000], ordered=False)
    for start in range(0, len(sellers_docs), 5000):
        SellerAccount._get_collection().insert_many(sellers_docs[start : start + 5000], ordered=False)
    return sellers


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2, what: str = "") -> float:
    """Poll until ``predicate()``; returns the seconds waited, raises TimeoutError naming ``what``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)
    return time.monotonic() - started


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, frontier = [pid], [pid]
    while frontier:
        current = frontier.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    children = [int(c) for c in handle.read().split()]
                found.extend(children)
                frontier.extend(children)
        except OSError:
            continue
    return found


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds consumed so far by ``pids`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


class CpuMeter:
    """CPU seconds used by named groups of processes between ``start()`` and ``stop()``."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._before: dict[str, float] = {}
        self._started = 0.0
        self.used: dict[str, float] = {}
        self.seconds = 0.0

    def start(self) -> CpuMeter:
        self._before = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}
        self._started = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        self.seconds = time.monotonic() - self._started
        self.used = {name: cpu_seconds(pids()) - self._before[name] for name, pids in self.groups.items()}
        return self.used

    def shares(self) -> dict[str, float]:
        """Each group's CPU as a share of one core over the interval (1.0 = one core busy throughout)."""
        return {name: used / self.seconds for name, used in self.used.items()} if self.seconds else {}

    def line(self) -> str:
        return ", ".join(f"{name} {share:.0%}" for name, share in self.shares().items())


# -- command line ---------------------------------------------------------------------------------------
def size_arguments(parser) -> None:
    """``--size`` (smoke, default, full) and ``--json``, which every benchmark takes."""
    parser.add_argument("--size", choices=("smoke", "default", "full"), default="default",
                        help="smoke: seconds, for the test suite; full: the issue's sizes")  # fmt: skip
    parser.add_argument("--json", help="write the figures and details to this file")


def apply_size(args, sizes: dict[str, dict[str, Any]], defaults: dict[str, Any]) -> None:
    """Set every option that the command line left at its default to the value of ``--size``."""
    for name, value in sizes.get(args.size, {}).items():
        if getattr(args, name) == defaults[name]:
            setattr(args, name, value)


def finish(figures: list[Figure], details: dict[str, Any], json_path: str | None) -> int:
    """Print the figures' table; write them (and ``details``) to ``json_path``; exit status 0."""
    print(table(figures))
    if json_path:
        document = {"figures": [asdict(f) for f in figures], "details": details}
        Path(json_path).write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0
