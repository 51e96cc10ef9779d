"""The dashboard page: a static HTML file; its script and stylesheet are served by a static route."""

from __future__ import annotations

from pathlib import Path

import falcon

#: The page loads only our own script, stylesheet and API: no inline script or style (index.html has
#: none; dashboard.js styles through the DOM, which CSP allows), no plugins, no <base> rewriting, no
#: native form submission (the forms are handled in script, so a token field can never end up in a
#: URL), and no framing by any site.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


class DashboardPage:
    """``/app/job-status/``: open like its assets; it carries no data and asks for the token."""

    auth_required = False

    def __init__(self, static_dir: Path) -> None:
        self._html = (static_dir / "index.html").read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self._html
        resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        # For browsers that predate CSP's frame-ancestors.
        resp.set_header("X-Frame-Options", "DENY")
        # The page never changes per user; the token lives in the tab, not in the page.
        resp.set_header("Referrer-Policy", "no-referrer")


class DashboardRedirect:
    auth_required = False

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPMovedPermanently("/app/job-status/")
