"""Hardening of every request and response: the body cap and the headers a browser relies on.

- A request body is at most 64 KiB (:data:`MAX_BODY_BYTES`; the largest legitimate one, 1,000 user
  ids to sync, is far smaller in practice). A larger declared Content-Length gets 413 before anything
  reads the body. A chunked body has no Content-Length (gunicorn hands the app the decoded chunks):
  it is read with the same cap, and a body within it is passed on as an ordinary body of known length,
  so a chunked JSON request works like any other. The cap is checked before authentication: it
  costs nothing, and all an anonymous caller learns is the cap itself.
- Every response, error or not, JSON or static file, says ``X-Content-Type-Options: nosniff``, so no
  browser guesses an error body or an asset into HTML or script. The dashboard page adds its own
  Content-Security-Policy and X-Frame-Options (web.dashboard).
"""

from __future__ import annotations

import io

import falcon

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
