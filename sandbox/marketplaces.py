"""Marketplace facts the synthetic data needs: currency, sales channel, order id prefix."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Marketplace:
    id: str
    country: str
    currency: str
    sales_channel: str
    #: First 3 digits of this marketplace's order ids; distinct per marketplace so ids never collide.
    order_prefix: str
    #: Rough value of one US dollar in this currency, so prices look local.
    usd_rate: Decimal


_ROWS = [
    ("ATVPDKIKX0DER", "US", "USD", "Amazon.com", "111", "1"),
    ("A2EUQ1WTGCTBG2", "CA", "CAD", "Amazon.ca", "701", "1.35"),
    ("A1AM78C64UM0Y8", "MX", "MXN", "Amazon.com.mx", "702", "17"),
    ("A2Q3Y263D00KWC", "BR", "BRL", "Amazon.com.br", "703", "5"),
    ("A1F83G8C2ARO7P", "GB", "GBP", "Amazon.co.uk", "202", "0.8"),
    ("A1PA6795UKMFR9", "DE", "EUR", "Amazon.de", "302", "0.92"),
    ("A13V1IB3VIYZZH", "FR", "EUR", "Amazon.fr", "402", "0.92"),
    ("APJ6JRA9NG5V4", "IT", "EUR", "Amazon.it", "403", "0.92"),
    ("A1RKKUPIHCS9HS", "ES", "EUR", "Amazon.es", "404", "0.92"),
    ("A1805IZSGTT6HS", "NL", "EUR", "Amazon.nl", "405", "0.92"),
    ("A2NODRKZP88ZB9", "SE", "SEK", "Amazon.se", "406", "10.5"),
    ("A1C3SOZRARQ6R3", "PL", "PLN", "Amazon.pl", "407", "4"),
    ("A21TJRUUN4KGV", "IN", "INR", "Amazon.in", "408", "83"),
    ("A33AVAJ2PDY3EV", "TR", "TRY", "Amazon.com.tr", "409", "32"),
    ("A2VIGQ35RCS4UG", "AE", "AED", "Amazon.ae", "410", "3.67"),
    ("A1VC38T7YXB528", "JP", "JPY", "Amazon.co.jp", "250", "150"),
    ("A39IBJ37TRP1C6", "AU", "AUD", "Amazon.com.au", "503", "1.5"),
    ("A19VAU5U5O7RUS", "SG", "SGD", "Amazon.sg", "504", "1.35"),
]

MARKETPLACES: dict[str, Marketplace] = {
    row[0]: Marketplace(row[0], row[1], row[2], row[3], row[4], Decimal(row[5])) for row in _ROWS
}

#: Currencies printed without decimals.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (2 decimals, 0 for JPY)."""
    exponent = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def money(amount: Decimal, currency: str, *, lower: bool = False) -> dict:
    """Orders' ``{"CurrencyCode", "Amount"}``, or Sales' ``{"amount", "currencyCode"}`` when lower."""
    text = str(quantize(amount, currency))
    if lower:
        return {"amount": text, "currencyCode": currency}
    return {"CurrencyCode": currency, "Amount": text}
