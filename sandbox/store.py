"""Seller data: synthetic (from a profile) or hand-made, generated once per seller, marketplace
and clock-day, and indexed so a 10,000-order seller's pages are cheap."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sandbox.custom import CustomData, parse_data
from sandbox.marketplaces import MARKETPLACES
from sandbox.sellers import Profile, default_profile, synthetic_inventory, synthetic_orders

MAX_ORDERS, MAX_SKUS, MAX_DAYS = 10_000, 1_000, 365

T = TypeVar("T")


class ProfileError(ValueError):
    """A profile that does not validate; the message names the field."""


@dataclass
class OrderBook:
    """One seller's orders in one marketplace, sorted by PurchaseDate."""

    orders: list
    purchases: list[datetime]
    by_id: dict
    currency: str

    @classmethod
    def of(cls, orders: list, currency: str) -> OrderBook:
        return cls(orders, [o.purchase for o in orders], {o.order_id: o for o in orders}, currency)


def parse_profile(body: object, base: Profile) -> Profile:
    """Validate ``{"orders", "skus", "days", "currency"}`` (all optional; missing ones keep
    ``base``'s values)."""
    if not isinstance(body, dict):
        raise ProfileError("the body must be a JSON object")
    unknown = sorted(set(body) - {"orders", "skus", "days", "currency"})
    if unknown:
        raise ProfileError(f"unknown field {unknown[0]!r}")
    values = base.to_json() | body
    for name, high in (("orders", MAX_ORDERS), ("skus", MAX_SKUS), ("days", MAX_DAYS)):
        value = values[name]
        low = 1 if name == "days" else 0
        if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
            raise ProfileError(f"{name} must be an integer between {low} and {high}")
    if values["orders"] and not values["skus"]:
        raise ProfileError("skus must be at least 1 when orders is not 0")
    currency = values["currency"]
    if currency is not None and not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        raise ProfileError("currency must be a 3-letter ISO 4217 code or null")
    return Profile(values["orders"], values["skus"], values["days"], currency)


class SellerStore:
    """Thread-safe. A profile and hand-made data exclude each other: setting one drops the other."""

    def __init__(self) -> None:
        self._profiles: dict[str, Profile] = {}
        self._custom: dict[str, CustomData] = {}
        self._books: dict[tuple[str, str], tuple[date, OrderBook]] = {}
        self._inventory: dict[tuple[str, str], tuple[date, list[dict]]] = {}
        self._lock = threading.Lock()

    def profile(self, seller: str) -> Profile:
        with self._lock:
            return self._profiles.get(seller) or default_profile(seller)

    def set_profile(self, seller: str, body: object) -> Profile:
        profile = parse_profile(body, default_profile(seller))
        with self._lock:
            self._profiles[seller] = profile
            self._custom.pop(seller, None)
            self._forget(seller)
        return profile

    def set_data(self, seller: str, body: object) -> CustomData:
        data = parse_data(body)
        with self._lock:
            self._custom[seller] = data
            self._forget(seller)
        return data

    def custom(self, seller: str) -> CustomData | None:
        with self._lock:
            return self._custom.get(seller)

    def orders(self, seller: str, marketplace_id: str, now: datetime) -> OrderBook:
        """The seller's orders in that marketplace (including not yet purchased ones of today:
        callers hide orders purchased after ``now``)."""
        return self._made_today(self._books, seller, marketplace_id, now.date(), self._order_book)

    def inventory(self, seller: str, marketplace_id: str, now: datetime) -> list[dict]:
        return self._made_today(self._inventory, seller, marketplace_id, now.date(), self._summaries)

    def _made_today(
        self,
        cache: dict[tuple[str, str], tuple[date, T]],
        seller: str,
        marketplace_id: str,
        today: date,
        make: Callable[[str, str, date], T],
    ) -> T:
        """``make(seller, marketplace_id, today)``, kept in ``cache`` for the rest of the day (or until
        the seller's profile or data change). Made under the lock: once per seller, marketplace and
        day, and never twice."""
        key = (seller, marketplace_id)
        with self._lock:
            cached = cache.get(key)
            if cached and cached[0] == today:
                return cached[1]
            made = make(seller, marketplace_id, today)
            cache[key] = (today, made)
            return made

    def _order_book(self, seller: str, marketplace_id: str, today: date) -> OrderBook:
        marketplace = MARKETPLACES[marketplace_id]
        custom = self._custom.get(seller)
        if custom is not None:
            mine = [o for o in custom.orders if o.marketplace_id in (None, marketplace_id)]
            currency = next(
                (o.raw["OrderTotal"]["CurrencyCode"] for o in mine if "OrderTotal" in o.raw),
                marketplace.currency,
            )
            return OrderBook.of(mine, currency)
        profile = self._profiles.get(seller) or default_profile(seller)
        return OrderBook.of(
            synthetic_orders(seller, marketplace, profile, today), profile.currency or marketplace.currency
        )

    def _summaries(self, seller: str, marketplace_id: str, today: date) -> list[dict]:
        custom = self._custom.get(seller)
        if custom is not None:
            return custom.inventory
        profile = self._profiles.get(seller) or default_profile(seller)
        return synthetic_inventory(seller, MARKETPLACES[marketplace_id], profile, today)

    def _forget(self, seller: str) -> None:
        for cache in (self._books, self._inventory):
            for key in [k for k in cache if k[0] == seller]:
                del cache[key]

    def reset(self) -> None:
        with self._lock:
            self._profiles.clear()
            self._custom.clear()
            self._books.clear()
            self._inventory.clear()
