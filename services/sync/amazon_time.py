"""Times as SP-API writes and reads them, and the sales window every analysis uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

#: Days of daily sales metrics (and of the analysis window).
METRICS_DAYS = 30


def parse_time(value: str | None) -> datetime | None:
    """Amazon's ISO 8601 (``2024-01-02T03:04:05Z``, ``2024-01-01T00:00Z``) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def amazon_time(moment: datetime) -> str:
    """``2024-05-01T12:00:00Z``: an SP-API query time (UTC, to the second)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metrics_window(today: date) -> tuple[datetime, datetime]:
    """The 30 UTC days ending with ``today`` (today included): [start, end)."""
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    return end - timedelta(days=METRICS_DAYS), end
