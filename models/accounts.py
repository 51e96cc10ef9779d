"""Users and their seller accounts (one account = one region + marketplace of a seller)."""

from datetime import UTC, datetime

from mongoengine import BooleanField, DateTimeField, Document, EmailField, StringField

from models.stored import stored_in

REGIONS = ("na", "eu", "fe")
ACCOUNT_STATUSES = ("active", "auth_error", "disabled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(Document):
    user_id = StringField(required=True, max_length=128)
    email = EmailField()
    sync_enabled = BooleanField(default=True)
    #: When the user's last job completed; None: never synced.
    last_synced_at = DateTimeField()
    created_at = DateTimeField(default=utcnow)

    meta = stored_in(
        "users",
        {"fields": ["user_id"], "unique": True},
        # The scheduler's due-user scan: enabled users, oldest sync first.
        {"fields": ["sync_enabled", "last_synced_at", "user_id"]},
    )


class SellerAccount(Document):
    user_id = StringField(required=True, max_length=128)
    region = StringField(required=True, choices=REGIONS)
    #: Marketplace country code as python-amazon-sp-api names it (US, DE, GB, JP...).
    country = StringField(required=True, max_length=2)
    marketplace_id = StringField(required=True)
    seller_id = StringField()
    #: Fernet-encrypted LWA refresh token; decrypted only to call Amazon (services.platform.secrets).
    refresh_token = StringField(required=True)
    status = StringField(default="active", choices=ACCOUNT_STATUSES)
    last_synced_at = DateTimeField()
    #: LastUpdatedAfter watermark of the incremental orders sync; advanced only after orders are stored.
    orders_cursor = DateTimeField()
    last_error = StringField()
    #: When the account was last connected or re-authorised (the start of its first-analysis clock).
    connected_at = DateTimeField()
    #: When the first analysis after ``connected_at`` was cached (a first look or a full analysis).
    first_analysis_at = DateTimeField()

    meta = stored_in(
        "seller_accounts",
        {"fields": ["user_id", "marketplace_id"], "unique": True},
        {"fields": ["status", "user_id"]},
    )

    @property
    def label(self) -> str:
        """How logs and job records name the account: ``eu/DE``."""
        return f"{self.region}/{self.country}"
