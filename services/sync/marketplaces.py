"""The library's marketplaces by country code, and the SP-API region that serves each."""

from __future__ import annotations

from sp_api.base import Marketplaces

from services.platform.errors import PermanentSpApiError

REGIONS = ("na", "eu", "fe")


def marketplace_for(country: str) -> Marketplaces:
    """The library's marketplace for a country code (``GB`` and ``UK`` both name the UK)."""
    name = "UK" if country == "GB" else country
    try:
        return Marketplaces[name]
    except KeyError:
        raise PermanentSpApiError(f"unknown marketplace country {country!r}") from None


def region_of(marketplace: Marketplaces) -> str:
    """``na``, ``eu`` or ``fe``: the SP-API endpoint that serves the marketplace."""
    for region in REGIONS:
        if f"-{region}." in marketplace.endpoint:
            return region
    raise ValueError(f"no region for marketplace {marketplace.name}")
