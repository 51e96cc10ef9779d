"""MongoEngine documents of sellersync, the connection, and index creation."""

from models.accounts import SellerAccount, User, utcnow
from models.analysis import Analysis
from models.jobs import AccountResult, JobError, JobStatus
from models.sales import InventoryItem, Order, SalesMetric

__all__ = [
    "AccountResult",
    "Analysis",
    "InventoryItem",
    "JobError",
    "JobStatus",
    "Order",
    "SalesMetric",
    "SellerAccount",
    "User",
    "utcnow",
]
