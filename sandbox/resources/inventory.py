"""FBA Inventory v1: ``getInventorySummaries``, pages of 50, next tokens that expire."""

from __future__ import annotations

import falcon

from sandbox.cursors import Cursor
from sandbox.errors import NEXT_TOKEN_MESSAGE, ApiError, invalid_input
from sandbox.marketplaces import MARKETPLACES
from sandbox.params import bool_param, datetime_param, list_param, marketplace_ids, text_param
from sandbox.resources import StateResource
from sandbox.timefmt import parse_iso

PAGE_SIZE = 50
#: A nextToken's life in (scaled) seconds.
NEXT_TOKEN_TTL = 30.0
MAX_SKUS = 50
INVENTORY_MARKETPLACE_KEYS = ("marketplaceIds", "MarketplaceIds", "MarketplaceId", "marketplace_ids")


class InventorySummariesResource(StateResource):
    operation = "getInventorySummaries"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        seller, now = req.context.seller, self._state.now()
        owner = (seller, self.operation)
        if text_param(req, "granularityType") != "Marketplace":
            raise invalid_input("granularityType must be Marketplace")
        granularity_id = text_param(req, "granularityId")
        if granularity_id not in MARKETPLACES:
            raise invalid_input("granularityId must be a marketplace id")
        ids = marketplace_ids(req, INVENTORY_MARKETPLACE_KEYS)
        if len(ids) != 1:
            raise invalid_input("marketplaceIds accepts exactly one marketplace")
        details = bool_param(req, "details")
        token = text_param(req, "nextToken")
        if token:
            cursor = self._state.cursors.redeem(
                token, owner, now, NEXT_TOKEN_TTL / self._state.config.time_scale
            )
            if cursor is None:
                raise ApiError(400, message=NEXT_TOKEN_MESSAGE)
        else:
            cursor = Cursor(owner, self._select(req, seller, ids[0], now), 0, now)
        end = cursor.offset + PAGE_SIZE
        page = cursor.rows[cursor.offset : end]
        if not details:
            page = [{k: v for k, v in row.items() if k != "inventoryDetails"} for row in page]
        body: dict = {
            "payload": {
                "granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
                "inventorySummaries": page,
            }
        }
        if end < len(cursor.rows):
            body["pagination"] = {
                "nextToken": self._state.cursors.issue(Cursor(owner, cursor.rows, end, now))
            }
        resp.media = body

    def _select(self, req: falcon.Request, seller: str, marketplace_id: str, now) -> list[dict]:
        rows = self._state.sellers.inventory(seller, marketplace_id, now)
        since = datetime_param(req, "startDateTime")
        skus = list_param(req, "sellerSkus")
        if len(skus) > MAX_SKUS:
            raise invalid_input(f"sellerSkus accepts at most {MAX_SKUS} values")
        single = text_param(req, "sellerSku")
        if since is not None:
            return [r for r in rows if (parse_iso(r.get("lastUpdatedTime", "")) or since) >= since]
        if skus:
            return [r for r in rows if r["sellerSku"] in skus]
        if single:
            return [r for r in rows if r["sellerSku"] == single]
        return list(rows)
