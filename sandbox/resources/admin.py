"""``/_sandbox/...``: stats, faults, profiles, hand-made data, reset. No auth (loopback only)."""

from __future__ import annotations

import falcon

from sandbox.custom import DataError
from sandbox.errors import invalid_input
from sandbox.faults import FaultError
from sandbox.resources import StateResource
from sandbox.store import ProfileError
from sandbox.tokens import is_seller_name


def _seller(seller: str) -> str:
    if not is_seller_name(seller):
        raise invalid_input("seller: letters, digits, '.', '_' and '-' only, at most 64 characters")
    return seller


def _json(req: falcon.Request):
    try:
        return req.get_media()
    except (falcon.MediaNotFoundError, falcon.MediaMalformedError):
        raise invalid_input("the body must be JSON") from None


class StatsResource(StateResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._state.get_stats()


class ResetResource(StateResource):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._state.reset()
        resp.media = {"reset": True}


class FaultsResource(StateResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, seller: str) -> None:
        resp.media = self._state.get_faults(_seller(seller))

    def on_put(self, req: falcon.Request, resp: falcon.Response, seller: str) -> None:
        try:
            self._state.set_faults(_seller(seller), _json(req))
        except FaultError as exc:
            raise invalid_input(str(exc)) from None
        resp.media = self._state.get_faults(seller)


class ProfileResource(StateResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, seller: str) -> None:
        resp.media = self._state.sellers.profile(_seller(seller)).to_json()

    def on_put(self, req: falcon.Request, resp: falcon.Response, seller: str) -> None:
        try:
            resp.media = self._state.set_profile(_seller(seller), _json(req))
        except ProfileError as exc:
            raise invalid_input(str(exc)) from None


class DataResource(StateResource):
    def on_put(self, req: falcon.Request, resp: falcon.Response, seller: str) -> None:
        try:
            data = self._state.sellers.set_data(_seller(seller), _json(req))
        except DataError as exc:
            raise invalid_input(str(exc)) from None
        resp.media = {
            "orders": len(data.orders),
            "orderMetrics": None if data.metrics is None else len(data.metrics),
            "inventory": len(data.inventory),
        }
