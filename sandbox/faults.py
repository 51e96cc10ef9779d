"""Injected faults: what a seller's next requests suffer instead of a normal answer.

A fault is one JSON object with exactly one kind key, optionally limited to an ``operation``
(getOrders, getOrderItems, getOrderMetrics, getInventorySummaries, lwaToken) and to ``times`` uses:

- ``{"status": 429|500|503|504}``: that status with the matching SP-API error body.
- ``{"status": 403}``: 403 Unauthorized, as for a revoked token.
- ``{"latencyMs": 200}`` or ``{"latencyMs": {"min": 50, "max": 400}}``: delay, then answer normally
  (seeded random, so a run is repeatable).
- ``{"reset": true}``: drop the connection without an answer.
- ``{"malformed": true}``: 200 with a body that is not JSON.
- ``{"lwa": "invalid_grant"|"invalid_client"}``: the LWA token endpoint refuses (implies lwaToken).
- ``{"expiredNextToken": true}``: the next request carrying a next token gets 400
  "Next token is invalid or expired".

Without ``operation`` a fault hits every SP-API operation but not the LWA token exchange (only
``lwa`` faults and faults naming ``"operation": "lwaToken"`` touch it). Latency faults add up and
combine with one other fault; of the other kinds, the first matching one in the list wins. A use
is spent only when a fault actually changes an answer.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from sandbox.quotas import USAGE_PLANS

LWA_OPERATION = "lwaToken"
OPERATIONS = frozenset(USAGE_PLANS) | {LWA_OPERATION}
KINDS = ("status", "latencyMs", "reset", "malformed", "lwa", "expiredNextToken")
STATUSES = frozenset({403, 429, 500, 503, 504})
LWA_ERRORS = frozenset({"invalid_grant", "invalid_client"})
MAX_LATENCY_MS = 60_000


class FaultError(ValueError):
    """A fault that does not validate; the message names the field."""


@dataclass
class Fault:
    kind: str
    value: object
    operation: str | None = None
    #: Uses left; None = forever.
    times: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def matches(self, operation: str) -> bool:
        if self.operation is not None:
            return self.operation == operation
        if self.kind == "lwa":
            return operation == LWA_OPERATION
        return operation != LWA_OPERATION

    def latency_seconds(self) -> float:
        if isinstance(self.value, dict):
            return self.rng.uniform(self.value["min"], self.value["max"]) / 1000
        return float(self.value) / 1000

    def to_json(self) -> dict:
        out: dict = {self.kind: self.value}
        if self.operation is not None:
            out["operation"] = self.operation
        if self.times is not None:
            out["times"] = self.times
        return out


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_latency(value: object) -> None:
    if _is_int(value):
        if not 0 <= value <= MAX_LATENCY_MS:
            raise FaultError(f"latencyMs must be between 0 and {MAX_LATENCY_MS}")
        return
    if isinstance(value, dict) and set(value) == {"min", "max"}:
        low, high = value["min"], value["max"]
        if _is_int(low) and _is_int(high) and 0 <= low <= high <= MAX_LATENCY_MS:
            return
        raise FaultError(
            f"latencyMs.min and latencyMs.max must be integers with 0 <= min <= max <= {MAX_LATENCY_MS}"
        )
    raise FaultError('latencyMs must be an integer or {"min": int, "max": int}')


def parse_fault(raw: object, seed: str = "") -> Fault:
    """Validate one fault object; raises FaultError naming the bad field."""
    if not isinstance(raw, dict):
        raise FaultError("each fault must be a JSON object")
    unknown = sorted(set(raw) - set(KINDS) - {"operation", "times"})
    if unknown:
        raise FaultError(f"unknown field {unknown[0]!r}")
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        raise FaultError(f"a fault needs exactly one of the fields {', '.join(KINDS)}")
    kind, value = kinds[0], raw[kinds[0]]
    if kind == "status" and not (_is_int(value) and value in STATUSES):
        raise FaultError(f"status must be one of {sorted(STATUSES)}")
    if kind == "latencyMs":
        _check_latency(value)
    if kind in ("reset", "malformed", "expiredNextToken") and value is not True:
        raise FaultError(f"{kind} must be true")
    if kind == "lwa" and value not in LWA_ERRORS:
        raise FaultError(f"lwa must be one of {sorted(LWA_ERRORS)}")
    operation = raw.get("operation")
    if operation is not None and operation not in OPERATIONS:
        raise FaultError(f"operation must be one of {sorted(OPERATIONS)}")
    if kind == "lwa" and operation not in (None, LWA_OPERATION):
        raise FaultError("operation of an lwa fault can only be lwaToken")
    times = raw.get("times")
    if times is not None and not (_is_int(times) and times >= 1):
        raise FaultError("times must be an integer >= 1")
    return Fault(kind, value, operation, times, random.Random(f"{seed}|{kind}|{value}"))


def parse_faults(raw: object, seller: str = "") -> list[Fault]:
    if not isinstance(raw, list):
        raise FaultError("faults must be a JSON list")
    faults = []
    for index, item in enumerate(raw):
        try:
            faults.append(parse_fault(item, seed=f"{seller}|{index}"))
        except FaultError as exc:
            raise FaultError(f"faults[{index}]: {exc}") from None
    return faults


@dataclass
class Hit:
    """What to do to one request: sleep ``latency`` seconds, then apply ``fault`` if any."""

    latency: float = 0.0
    fault: Fault | None = None


class FaultBook:
    """Thread-safe faults per seller."""

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()

    def set(self, seller: str, faults: list[Fault] | list[dict]) -> None:
        parsed = [
            f if isinstance(f, Fault) else parse_fault(f, seed=f"{seller}|{i}") for i, f in enumerate(faults)
        ]
        with self._lock:
            self._faults[seller] = parsed

    def get(self, seller: str) -> list[dict]:
        with self._lock:
            return [f.to_json() for f in self._faults.get(seller, [])]

    def take(self, seller: str, operation: str, *, has_next_token: bool = False) -> Hit:
        """Spend the faults that hit this request and say what to do."""
        hit = Hit()
        with self._lock:
            faults = self._faults.get(seller)
            if not faults:
                return hit
            for fault in faults:
                if not fault.matches(operation):
                    continue
                if fault.kind == "latencyMs":
                    hit.latency += fault.latency_seconds()
                elif hit.fault is None and (fault.kind != "expiredNextToken" or has_next_token):
                    hit.fault = fault
                else:
                    continue
                if fault.times is not None:
                    fault.times -= 1
            self._faults[seller] = [f for f in faults if f.times is None or f.times > 0]
        return hit

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
