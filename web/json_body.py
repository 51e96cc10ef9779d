"""The one way a request body is read: strict JSON, bounded, with errors a client can act on.

Falcon's own JSON handler passes Python's errors through (a ``RecursionError`` on deep nesting is a
500; "use sys.set_int_max_str_digits()" and "'utf-8' codec can't decode byte 0xff in position 19"
reach the client) and lets a duplicate key silently win. This handler refuses, with a 400 naming the
body (or the key) and the rule:
- a body that is not UTF-8, or not JSON (with the line and column of the first error);
- nesting deeper than :data:`MAX_DEPTH`, measured before the parser recurses;
- a number with more than :data:`MAX_DIGITS` digits, and ``NaN``/``Infinity`` (not JSON);
- a key that appears twice in one object (JSON parsers disagree on which one wins).
An empty body stays Falcon's ``MediaNotFoundError`` (a 400 saying the body is empty).
"""

from __future__ import annotations

import json
import re
from typing import Any

import falcon
from falcon.media import BaseHandler

#: The deepest nesting of arrays and objects a body may have (the API's bodies need 2).
MAX_DEPTH = 32
#: The most digits a JSON number may have (ids and counts need far fewer).
MAX_DIGITS = 32

#: What the depth scan looks at: brackets, and the quotes and backslashes that say which are in strings.
_TOKEN = re.compile(r'[\[\]{}"\\]')


class _Refused(Exception):
    """A rule the body breaks; ``field`` is what the 400 names."""

    def __init__(self, rule: str, field: str = "body") -> None:
        super().__init__(rule)
        self.rule = rule
        self.field = field


def _too_deep(text: str) -> bool:
    """Whether ``text`` nests deeper than MAX_DEPTH; one pass, linear in the text whatever it holds
    (a regular expression for strings backtracks quadratically on an unterminated one full of ``\\"``)."""
    depth, in_string, escaped = 0, False, -1
    for match in _TOKEN.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped:
                continue
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused("A key appears twice in one object of the body.", key[:64])
        result[key] = value
    return result


def _number(text: str, convert: type) -> Any:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"The body has a number of more than {MAX_DIGITS} digits.")
    return convert(text)


def _constant(name: str) -> Any:
    raise _Refused(f"The body has {name}, which is not JSON.")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_int=lambda text: _number(text, int),
    parse_float=lambda text: _number(text, float),
    parse_constant=_constant,
)


def loads(data: bytes) -> Any:
    """The JSON value of ``data``; raises :class:`falcon.HTTPInvalidParam` naming the rule broken."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise falcon.HTTPInvalidParam("The body is not UTF-8 text.", "body") from None
    try:
        if _too_deep(text):
            raise _Refused(f"The body is nested more than {MAX_DEPTH} deep.")
        return _DECODER.decode(text)
    except _Refused as refused:
        raise falcon.HTTPInvalidParam(refused.rule, refused.field) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise falcon.HTTPInvalidParam(f"The body is not JSON: {exc.msg} at {where}.", "body") from None


class StrictJSON(BaseHandler):
    """Falcon media handler for ``application/json`` bodies (see the module's docstring)."""

    def deserialize(self, stream, content_type: str | None, content_length: int | None) -> Any:
        data = stream.read()
        if not data:
            raise falcon.MediaNotFoundError("JSON")
        return loads(data)
