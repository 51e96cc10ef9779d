"""What every benchmark shares: its loopback servers and settings, seeded users, waiting, CPU and
memory readings, and the command line.

Every benchmark starts its own servers on 127.0.0.1 with ``embedded.stack`` (redis-server, the
document server, the SP-API sandbox in this process): it runs in a fresh clone and sends nothing off
the machine; REDIS_URL and MONGODB_URI are deliberately ignored.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.fernet import Fernet

from bench.figures import ROOT as ROOT  # (re-exported: where the benchmarks run)
from embedded.stack import Stack as Stack  # (re-exported: what start_stack returns)
from embedded.stack import start_stack as start_servers


# -- servers ------------------------------------------------------------------------------------------
def start_stack(*, time_scale: float | None = 1000.0, settings: dict[str, str] | None = None) -> Stack:
    """The servers (the sandbox unless ``time_scale`` is None), their settings installed in this process
    (plus ``settings``, for every process: ``stack.env``), and the indexes created."""
    sandbox = None
    if time_scale is not None:
        from sandbox.config import SandboxConfig
        from sandbox.server import start_sandbox

        sandbox = functools.partial(start_sandbox, config=SandboxConfig(time_scale=time_scale))
    stack = start_servers(database=f"sellersync-bench-{os.getpid()}", sandbox=sandbox)
    from services.platform.worker_metrics import flush_all

    stack.on_stop(flush_all)  # what in-process workers recorded, sent while Redis still answers
    stack.env.update(
        REDIS_NAMESPACE=f"sellersync-bench-{uuid.uuid4().hex[:8]}",
        FERNET_KEY=Fernet.generate_key().decode(),
        API_TOKENS="bench-token-" + uuid.uuid4().hex,
        JOB_TIME_LIMIT_SECONDS="600",
    )
    if sandbox is not None:
        stack.env.update(SP_API_QUOTA_TIME_SCALE=str(time_scale), SANDBOX_TIME_SCALE=str(time_scale))
    stack.env.update(settings or {})
    try:
        from models.migrate import create_indexes
        from services.platform.settings import Settings, configure
        from services.platform.store import connect_store

        connect_store(configure(Settings.from_env(stack.env, dotenv_path=None)))
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
COUNTRIES = {"US": "na", "DE": "eu", "JP": "fe"}
#: The small seller of cost, drain and memory: 4-5 SP-API calls a job.
SMALL_PROFILE = {"orders": 20, "skus": 2, "days": 30}


def seed_users(
    stack: Stack,
    user_ids: list[str],
    *,
    accounts: Callable[[random.Random], int] = lambda rng: 1,
    profile: Callable[[random.Random], dict] = lambda rng: dict(SMALL_PROFILE),
    faults: list[dict] | None = None,
) -> list[str]:
    """Insert the users and their 1-3 sandbox seller accounts (bulk inserts of the real documents), give
    each seller a sandbox profile and ``faults``; returns the sellers."""
    from models import SellerAccount, User

    rng = random.Random(11)
    users, accounts_docs, sellers = [], [], []
    for user_id in user_ids:
        users.append(User(user_id=user_id, email=f"{user_id}@example.com", sync_enabled=True).to_mongo())
        for country in list(COUNTRIES)[: accounts(rng)]:
            sellers.append(f"{user_id}-{country.lower()}")
            accounts_docs.append(_account(user_id, country, sellers[-1]))
            stack.sandbox.state.set_profile(sellers[-1], profile(rng))
            if faults:
                stack.sandbox.state.set_faults(sellers[-1], faults)
    for documents, collection in ((users, User), (accounts_docs, SellerAccount)):
        for start in range(0, len(documents), 5000):
            collection._get_collection().insert_many(documents[start : start + 5000], ordered=False)
    return sellers


def _account(user_id: str, country: str, seller: str) -> dict:
    """A seller account's document, its refresh token encrypted as the service stores it."""
    from models import SellerAccount
    from services.platform.secrets import encrypt_token
    from services.platform.settings import get_settings
    from services.sync.marketplaces import marketplace_for

    token = encrypt_token(f"Atzr|sandbox-{seller}", get_settings())
    return SellerAccount(
        user_id=user_id, region=COUNTRIES[country], country=country, seller_id=seller, status="active",
        marketplace_id=marketplace_for(country).marketplace_id, refresh_token=token,
    ).to_mongo()  # fmt: skip


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2, what: str = "") -> float:
    """Poll until ``predicate()``; returns the seconds waited, raises TimeoutError naming ``what``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)
    return time.monotonic() - started


# -- processes: CPU and memory (Linux /proc) -------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
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
            return next(int(line.split()[1]) / 1024 for line in handle if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds consumed so far by ``pids``."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_cpu() -> tuple[float, float]:
    """Busy and total jiffies of every core since boot (/proc/stat): other work on the machine too."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


class CpuMeter:
    """CPU seconds used by named groups of processes between ``start()`` and ``stop()``; the stack's
    servers and this process (the sandbox and the benchmark) are groups of their own."""

    def __init__(self, stack: Stack, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = {
            **groups,
            "document server": lambda: [stack.pids["documents"]],
            "redis": lambda: [stack.pids["redis"]],
            "sandbox+bench": lambda: [os.getpid()],
        }
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
def arguments(
    argv: list[str] | None, module: str, doc: str | None, defaults: dict[str, Any], sizes: dict[str, dict]
) -> argparse.Namespace:
    """``python -m <module>``'s options: ``--name`` for each of ``defaults``, ``--size`` and ``--json``.
    An option left at its default takes the value ``--size`` gives it (smoke: seconds, for the tests;
    full: the issue's sizes)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").splitlines()[0])
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    parser.add_argument("--size", choices=("smoke", "default", "full"), default="default")
    parser.add_argument("--json", help="write the figures and details to this file")
    args = parser.parse_args(argv)
    for name, value in sizes.get(args.size, {}).items():
        if getattr(args, name) == defaults[name]:
            setattr(args, name, value)
    return args
