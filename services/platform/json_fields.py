"""The plain fields of our JSON shapes: an object's attributes under their camelCase names.

The REST API and ``sellersync … --json`` spell every key in camelCase (``user_id`` is ``userId``);
the attributes copied as they are need no line of their own, only their names.
"""

from __future__ import annotations

from typing import Any


def camel_case(name: str) -> str:
    """``marketplace_id`` → ``marketplaceId``."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def fields_json(source: object, *names: str) -> dict[str, Any]:
    """``{camel_case(name): source.name}`` for each of ``names``, in their order."""
    return {camel_case(name): getattr(source, name) for name in names}
