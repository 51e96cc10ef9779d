"""Helpers of the SP-API integration tests."""

from __future__ import annotations

from datetime import datetime, timedelta

US = "ATVPDKIKX0DER"


def book(sandbox, seller: str, now: datetime) -> list:
    """The sandbox's orders of ``seller`` in the US marketplace (purchased up to ``now``)."""
    return [o for o in sandbox.state.sellers.orders(seller, US, now).orders if o.purchase <= now]


def first_sync_orders(sandbox, seller: str, cursor: datetime) -> set[str]:
    """The order ids a first sync that ended its window at ``cursor`` must have stored: every order
    last updated by then, as the sandbox saw it when the listing began (cursor + 2 minutes)."""
    seen_at = cursor + timedelta(minutes=2)
    return {o.order_id for o in book(sandbox, seller, cursor) if o.state(seen_at)[1] <= cursor}
