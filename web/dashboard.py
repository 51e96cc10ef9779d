"""The dashboard page: a static HTML file; its script and stylesheet are served by a static route."""

from __future__ import annotations

from pathlib import Path

import falcon


class DashboardPage:
    """``/app/job-status/``: open like its assets; it carries no data and asks for the token."""

    auth_required = False

    def __init__(self, static_dir: Path) -> None:
        self._html = (static_dir / "index.html").read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self._html
        # The page only loads our own script and style; no inline script, no framing.
        resp.set_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'",
        )
        resp.set_header("X-Content-Type-Options", "nosniff")


class DashboardRedirect:
    auth_required = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPMovedPermanently("/app/job-status/")
