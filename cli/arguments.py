"""Argument types of the command: each returns the value or raises ArgumentTypeError (exit 2)."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

#: Job ids are Dramatiq message ids: UUIDs.
_JOB_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_DURATION_RE = re.compile(r"^(\d+)([smhd])$")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {raw!r}")
    return int(raw)


def duration(raw: str) -> timedelta:
    """``90s``, ``45m``, ``24h``, ``7d``."""
    match = _DURATION_RE.match(raw.strip())
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(f"expected a duration such as 45m, 24h or 7d, got {raw!r}")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def job_id(raw: str) -> str:
    if not _JOB_ID_RE.match(raw):
        raise argparse.ArgumentTypeError(f"a job id is a UUID, got {raw!r}")
    return raw.lower()


def positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < 86_400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {raw!r}")
    return value
