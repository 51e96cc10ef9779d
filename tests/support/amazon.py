"""SP-API documents as Amazon writes them, for sellers whose data a test sets in the sandbox."""

from __future__ import annotations

from datetime import datetime

US = "ATVPDKIKX0DER"


def amazon_order(
    order_id: str,
    purchased: datetime,
    status: str,
    total: str,
    sku: str,
    quantity: int,
    *,
    number: int = 0,
    currency: str = "USD",
    marketplace_id: str = US,
    shipped: int | None = None,
) -> dict:
    """One getOrders order with one item (``shipped`` defaults to all of it when the status is Shipped)."""
    stamp = purchased.strftime("%Y-%m-%dT%H:%M:%SZ")
    shipped = (quantity if status == "Shipped" else 0) if shipped is None else shipped
    return {
        "AmazonOrderId": order_id,
        "PurchaseDate": stamp,
        "LastUpdateDate": stamp,
        "OrderStatus": status,
        "OrderTotal": {"CurrencyCode": currency, "Amount": total},
        "MarketplaceId": marketplace_id,
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": 0,
        "OrderItems": [
            {
                "ASIN": f"B000{sku}",
                "OrderItemId": f"{number}0001",
                "SellerSKU": sku,
                "QuantityOrdered": quantity,
                "QuantityShipped": shipped,
                "ItemPrice": {"CurrencyCode": currency, "Amount": total},
            }
        ],
    }


def fba_summary(sku: str, sellable: int, total: int | None = None) -> dict:
    """One getInventorySummaries row: ``sellable`` units fulfillable, ``total`` in all (default: the same)."""
    return {
        "asin": f"B000{sku}",
        "fnSku": f"X{sku}",
        "sellerSku": sku,
        "condition": "NewItem",
        "productName": sku,
        "lastUpdatedTime": "2024-01-01T00:00:00Z",
        "totalQuantity": sellable if total is None else total,
        "inventoryDetails": {"fulfillableQuantity": sellable},
    }
