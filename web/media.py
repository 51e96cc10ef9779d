"""JSON is the API's only media type, and only the routes that take a body ever read one.

A resource names the methods whose responders read a body (``body_methods = ("PUT",)``); every other
request's body is left unread, whatever it holds, so a public probe (``/health``) can never be made to
parse one. A request to a body-taking method must send ``Content-Type: application/json`` (a charset,
if given, is UTF-8): anything else, a form, multipart, text or no type at all, is a 415 before any
responder runs, checked after the token so an anonymous caller learns nothing of a route's body. The
app reads bodies with web.json_body.StrictJSON alone, so no form is parsed anywhere.
"""

from __future__ import annotations

import falcon

ACCEPTED = "application/json"


def takes_body(resource, method: str) -> bool:
    return method in getattr(resource, "body_methods", ())


def _is_json(content_type: str) -> bool:
    media_type, params = falcon.parse_header(content_type)
    charset = params.get("charset", "utf-8").lower()
    return media_type.lower() == ACCEPTED and charset in ("utf-8", "utf8")


class JsonOnly:
    """Middleware: a body-taking request whose body is not declared JSON (UTF-8) is a 415."""

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        if resource is None or not takes_body(resource, req.method):
            return
        # (web.security.BodyLimit, earlier, gave a chunked body its Content-Length.)
        if req.content_type is None and not req.content_length:
            return  # no body at all: the responder says which fields it needs (a 400)
        if not _is_json(req.content_type or ""):
            got = (req.content_type or "no Content-Type")[:64]
            raise falcon.HTTPUnsupportedMediaType(
                title="Unsupported media type",
                description=f"Send the body as {ACCEPTED} (UTF-8); got {got!r}.",
            )
