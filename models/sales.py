"""What SP-API returned, upserted by natural key so that a repeat fetch changes nothing.

Keys include ``user_id``: two users may connect the same seller, and each keeps its own copy.
Money is stored as the decimal strings Amazon sends and computed with ``Decimal``.
"""

from mongoengine import DateTimeField, Document, IntField, StringField

from models.stored import stored_in


class Order(Document):
    user_id = StringField(required=True)
    marketplace_id = StringField(required=True)
    amazon_order_id = StringField(required=True)
    purchase_date = DateTimeField(required=True)
    last_update_date = DateTimeField(required=True)
    status = StringField(required=True)
    fulfillment_channel = StringField()
    #: OrderTotal.Amount; absent on Pending orders.
    total_amount = StringField()
    currency = StringField()
    items_shipped = IntField(default=0)
    items_unshipped = IntField(default=0)

    meta = stored_in(
        "orders",
        {"fields": ["user_id", "marketplace_id", "amazon_order_id"], "unique": True},
        {"fields": ["user_id", "marketplace_id", "purchase_date"]},
    )


class SalesMetric(Document):
    """One getOrderMetrics row (daily granularity)."""

    user_id = StringField(required=True)
    marketplace_id = StringField(required=True)
    #: Amazon's interval string, e.g. ``2024-01-01T00:00Z--2024-01-02T00:00Z``.
    interval = StringField(required=True)
    day = DateTimeField(required=True)
    unit_count = IntField(default=0)
    order_item_count = IntField(default=0)
    order_count = IntField(default=0)
    total_sales = StringField(default="0")
    currency = StringField()

    meta = stored_in("sales_metrics", {"fields": ["user_id", "marketplace_id", "interval"], "unique": True})


class InventoryItem(Document):
    user_id = StringField(required=True)
    marketplace_id = StringField(required=True)
    seller_sku = StringField(required=True)
    asin = StringField()
    fn_sku = StringField()
    product_name = StringField()
    condition = StringField()
    total_quantity = IntField(default=0)
    #: fulfillableQuantity: what can be sold now.
    sellable_quantity = IntField(default=0)
    inbound_quantity = IntField(default=0)
    reserved_quantity = IntField(default=0)
    unfulfillable_quantity = IntField(default=0)
    last_updated = DateTimeField()
    #: Units sold in the last 30 days (getOrderMetrics per SKU), refreshed at most daily.
    units_30d = IntField()
    units_30d_at = DateTimeField()
    #: When our last sync saw this SKU; SKUs not seen by the latest sync are gone from Amazon.
    synced_at = DateTimeField()

    meta = stored_in("inventory", {"fields": ["user_id", "marketplace_id", "seller_sku"], "unique": True})
