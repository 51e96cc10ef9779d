"""``HEAD`` is answered wherever ``GET`` is, as GET would be but without the body (RFC 9110, 9.3.2).

Falcon routes HEAD only to an ``on_head`` responder, so every GET route answered 405. Rather than give
every resource an ``on_head``, the request is routed as a GET and marked HEAD again before the answer
is sent: Falcon then drops the body and keeps the Content-Length GET would have had. Everything in
between (auth, validation, the responder) sees a GET, so HEAD needs the same token and parameters.
This middleware is the outermost, so that its ``process_response`` runs last.
"""

from __future__ import annotations

import falcon


class HeadAsGet:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.method == "HEAD":
            req.method = "GET"
            req.context.head = True

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool
    ) -> None:
        if req.context.get("head"):
            req.method = "HEAD"
