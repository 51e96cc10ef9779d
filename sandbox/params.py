"""Query parameter readers that answer 400 InvalidInput naming the parameter.

Lists come comma-joined (Orders) or as repeated keys (Sales, Inventory): both are accepted.
Parameters nobody reads are ignored, as Amazon does.
"""

from __future__ import annotations

from datetime import datetime

import falcon

from sandbox.errors import invalid_input
from sandbox.marketplaces import MARKETPLACES
from sandbox.timefmt import parse_iso

#: Every spelling the library may send; it adds all four when the caller gives none.
MARKETPLACE_KEYS = ("MarketplaceIds", "marketplaceIds", "MarketplaceId", "marketplace_ids")


def raw_values(req: falcon.Request, name: str) -> list[str]:
    value = req.params.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def list_param(req: falcon.Request, name: str) -> list[str]:
    """``A,B`` and ``?x=A&x=B`` both -> ``["A", "B"]``, without blanks or repeats."""
    out: list[str] = []
    for value in raw_values(req, name):
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def text_param(req: falcon.Request, name: str) -> str | None:
    values = raw_values(req, name)
    return values[-1] if values else None


def marketplace_ids(req: falcon.Request, keys: tuple[str, ...] = MARKETPLACE_KEYS) -> list[str]:
    """The requested marketplaces from the first key present; 400 when absent or unknown."""
    for key in keys:
        ids = list_param(req, key)
        if ids:
            unknown = [i for i in ids if i not in MARKETPLACES]
            if unknown:
                raise invalid_input(f"{key}: unknown marketplace id {unknown[0]}")
            return ids
    raise invalid_input(f"{keys[0]} is required")


def datetime_param(req: falcon.Request, name: str) -> datetime | None:
    value = text_param(req, name)
    if value is None:
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise invalid_input(f"{name} must be an ISO 8601 date-time, got {value!r}")
    return parsed


def int_param(req: falcon.Request, name: str, default: int, low: int, high: int) -> int:
    value = text_param(req, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid_input(f"{name} must be an integer between {low} and {high}") from None
    if not low <= number <= high:
        raise invalid_input(f"{name} must be an integer between {low} and {high}")
    return number


def bool_param(req: falcon.Request, name: str, default: bool = False) -> bool:
    value = text_param(req, name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise invalid_input(f"{name} must be true or false")
    return value.lower() == "true"
