"""Demo users for dev mode: deterministic users with 1-3 sandbox seller accounts across NA, EU and FE."""

from __future__ import annotations

import random

from models import SellerAccount, User
from services.operations.accounts import connect_account, create_user
from services.platform.settings import Settings

#: Marketplaces the demo spreads its accounts over, by region.
DEMO_COUNTRIES = {"na": ("US", "CA", "MX"), "eu": ("DE", "GB", "FR", "IT", "ES"), "fe": ("JP", "AU")}


def sandbox_token(seller: str) -> str:
    """The refresh token that names a sandbox seller (README, "The SP-API sandbox")."""
    return f"Atzr|sandbox-{seller}"


def seed_demo_users(count: int, *, settings: Settings, seed: int = 7) -> list[str]:
    """Create ``count`` demo users (``demo-001`` …); returns their ids. Idempotent."""
    rng = random.Random(seed)
    user_ids = []
    for number in range(1, count + 1):
        user_id = f"demo-{number:03d}"
        create_user(user_id, email=f"{user_id}@example.com")
        regions = rng.sample(sorted(DEMO_COUNTRIES), k=rng.randint(1, 3))
        for region in regions:
            country = rng.choice(DEMO_COUNTRIES[region])
            seller = f"{user_id}-{country.lower()}"
            connect_account(user_id, country, sandbox_token(seller), seller_id=seller, settings=settings)
        user_ids.append(user_id)
    return user_ids


def demo_summary() -> str:
    return f"{User.objects.count()} users, {SellerAccount.objects.count()} seller accounts"
