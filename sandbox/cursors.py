"""Next tokens: a snapshot of the matching rows and where the next page starts.

A query's results are frozen when its first page is served, so a client paging to the end sees
a consistent list even while the clock moves orders around, as with Amazon's opaque tokens.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

#: Tokens kept at most; the oldest are forgotten first (a forgotten token is "invalid").
MAX_CURSORS = 5_000


@dataclass
class Cursor:
    owner: tuple[str, str]  # (seller, operation): a token only works for whoever got it
    rows: list[dict]
    offset: int
    created: datetime
    extra: dict = field(default_factory=dict)


class Cursors:
    def __init__(self) -> None:
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, cursor: Cursor) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._cursors[token] = cursor
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
        return token

    def redeem(
        self, token: str, owner: tuple[str, str], now: datetime, max_age: float | None = None
    ) -> Cursor | None:
        """The cursor behind ``token``; None when unknown, foreign or older than max_age (seconds,
        already scaled by the caller). Tokens stay valid for re-use, so a page retried after a
        429 or a dropped connection still works."""
        with self._lock:
            cursor = self._cursors.get(token)
        if cursor is None or cursor.owner != owner:
            return None
        if max_age is not None and (now - cursor.created).total_seconds() > max_age:
            return None
        return cursor

    def reset(self) -> None:
        with self._lock:
            self._cursors.clear()
