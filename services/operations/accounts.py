"""Create and re-authorise users and seller accounts (the refresh token is stored encrypted)."""

from __future__ import annotations

from models import SellerAccount, User, utcnow
from services.platform.secrets import encrypt_token
from services.platform.settings import Settings
from services.sync.marketplaces import marketplace_for, region_of


def create_user(user_id: str, *, email: str | None = None, sync_enabled: bool = True) -> User:
    """Create (or return) the user ``user_id``."""
    # An upsert applies no field default: without created_at, every read would make one up ("now").
    User.objects(user_id=user_id).update_one(
        upsert=True,
        set_on_insert__email=email,
        set_on_insert__sync_enabled=sync_enabled,
        set_on_insert__created_at=utcnow(),
    )
    return User.objects.get(user_id=user_id)


def connect_account(
    user_id: str,
    country: str,
    refresh_token: str,
    *,
    seller_id: str | None = None,
    settings: Settings,
) -> SellerAccount:
    """Add or re-authorise the user's account in ``country``'s marketplace.

    A new refresh token makes an ``auth_error`` account ``active`` again and clears its last error.
    Connecting starts the account's first-analysis clock again (``connected_at``; /metrics).
    """
    marketplace = marketplace_for(country)
    country_code = marketplace.name
    SellerAccount.objects(user_id=user_id, marketplace_id=marketplace.marketplace_id).update_one(
        upsert=True,
        set__region=region_of(marketplace),
        set__country=country_code,
        set__seller_id=seller_id,
        set__refresh_token=encrypt_token(refresh_token, settings),
        set__status="active",
        set__connected_at=utcnow(),
        unset__last_error=True,
        unset__first_analysis_at=True,
    )
    return SellerAccount.objects.get(user_id=user_id, marketplace_id=marketplace.marketplace_id)
