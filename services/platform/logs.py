"""Logging: whole sentences as text, or one JSON object a line (LOG_FORMAT=json) with context ids.

The job-status middleware binds the job and user ids of the message a thread is processing
(:func:`bind`); every line logged meanwhile carries them as ``job_id`` and ``user_id``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "sellersync_log_context", default=None
)


def bind(**ids: str) -> contextvars.Token:
    """Attach ids (``job_id``, ``user_id``, ``account``) to every log line of this thread."""
    return _context.set({**(_context.get() or {}), **ids})


def unbind(token: contextvars.Token | None = None) -> None:
    if token is not None:
        _context.reset(token)
    else:
        _context.set(None)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("job_id", "user_id", "account")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


#: Libraries that log every HTTP request at INFO: kept at WARNING unless LOG_LEVEL is DEBUG.
CHATTY_LIBRARIES = ("httpx", "httpcore", "sp_api", "urllib3")


def apply_level(level: int | str) -> None:
    """Set the root level, and keep the per-request lines of HTTP libraries for DEBUG only."""
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    logging.getLogger().setLevel(numeric)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)


def configure_logging(log_format: str = "text", level: int | str = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.getLogger().handlers[:] = [handler]
    apply_level(level)
