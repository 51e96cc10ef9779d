"""Hardening of every request and response: the body cap and the headers a browser relies on.

- A request body is at most 64 KiB (:data:`MAX_BODY_BYTES`; the largest legitimate one, 1,000 user
  ids to sync, is far smaller in practice). A larger declared Content-Length gets 413 before anything
  reads the body. A chunked body has no Content-Length (gunicorn hands the app the decoded chunks):
  it is read with the same cap, and a body within it is passed on as an ordinary body of known length,
  so a chunked JSON request works like any other. The cap is checked before authentication: it
  costs nothing, and all an anonymous caller learns is the cap itself.
- Every response, error or not, JSON or static file, says ``X-Content-Type-Options: nosniff``, so no
  browser guesses an error body or an asset into HTML or script, and ``Cache-Control: no-store``: an
  answer is about one moment of the queue and may carry a user's data, so no browser or proxy keeps it
  (the dashboard's few static files are small enough to fetch again).
- Every HTML answer (the dashboard page, by whichever path it is served) carries the page's
  Content-Security-Policy, X-Frame-Options and Referrer-Policy (:data:`PAGE_HEADERS`).
"""

from __future__ import annotations

import io

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
#: What every HTML answer carries: X-Frame-Options for browsers that predate CSP's frame-ancestors;
#: no referrer, as the page never changes per user and the token lives in the tab, not in the page.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

#: The largest request body accepted, in bytes (64 KiB).
MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    def __init__(self, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_bytes = max_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        length = req.content_length
        if length is not None:
            if length > self.max_bytes:
                raise self._too_large(f"this one declares {length}")
            return
        if "chunked" not in (req.get_header("Transfer-Encoding") or "").lower():
            return
        body = req.stream.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            raise self._too_large("this chunked one is longer")
        req.stream = req.env["wsgi.input"] = io.BytesIO(body)
        req.env["CONTENT_LENGTH"] = str(len(body))

    def _too_large(self, detail: str) -> falcon.HTTPContentTooLarge:
        return falcon.HTTPContentTooLarge(
            title="Request body too large",
            description=f"The request body is at most {self.max_bytes} bytes; {detail}.",
        )


class SecurityHeaders:
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Cache-Control", "no-store")
        if (resp.content_type or "").startswith("text/html"):
            resp.set_headers(PAGE_HEADERS)
