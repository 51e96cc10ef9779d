"""The dashboard page: a static HTML file; its script and stylesheet are served by a static route."""

from __future__ import annotations

from pathlib import Path

import falcon

from web.apidoc import Part
from web.jobs import BASE


class DashboardPage:
    """``/app/job-status/``: open like its assets; it carries no data and asks for the token.

    Its Content-Security-Policy and framing headers are web.security's, set on every HTML answer, so
    the same page served as a static file (``static/index.html``) carries them too.
    """

    auth_required = False
    openapi = {
        "get": {
            "operationId": "dashboard",
            "summary": "The dashboard page (it asks for the token and sends it with its API calls).",
            "responses": {
                "200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}
            },
        }
    }

    def __init__(self, static_dir: Path) -> None:
        self._html = (static_dir / "index.html").read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self._html


class DashboardRedirect:
    auth_required = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPMovedPermanently(f"{BASE}/")


#: The redirect is left out: it only points at the page.
OPENAPI = Part({f"{BASE}/": DashboardPage})
