"""ISO 8601 parsing and Amazon's timestamp formats."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(value: str) -> datetime | None:
    """Parse an ISO 8601 timestamp; naive means UTC (as Amazon reads it). None when invalid."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_z(moment: datetime) -> str:
    """``2024-01-02T03:04:05Z``: how Orders and Inventory print times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_minutes(moment: datetime) -> str:
    """``2024-01-01T00:00Z`` or ``2024-01-01T00:00-08:00``: how Sales prints interval bounds."""
    offset = moment.utcoffset()
    if not offset:
        return moment.strftime("%Y-%m-%dT%H:%MZ")
    return moment.isoformat(timespec="minutes")
