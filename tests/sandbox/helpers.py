"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

from datetime import datetime


def iso(moment: datetime) -> str:
    return moment.isoformat()


def all_orders(client, **query) -> list[dict]:
    """Page getOrders to the end, as a sync would."""
    orders: list[dict] = []
    response = client.get_orders(**query)
    orders.extend(response.payload["Orders"])
    while response.next_token:
        response = client.get_orders(NextToken=response.next_token, **query)
        orders.extend(response.payload["Orders"])
    return orders
