"""Each part points one way (../shared/STYLE.md, "Our own house"): a test of the import graph.

- ``models`` imports nothing of sellersync but itself: its callers hand it the MongoDB URI.
- ``sandbox`` stands in for Amazon and imports nothing of sellersync but itself and ``embedded``
  (the threaded WSGI server it shares with dev mode, which belongs to neither).
- ``embedded`` (the servers dev mode and the tests start) imports nothing of ours but itself.
- ``services`` (the business logic) imports only itself and ``models``: never a front end (``web``,
  ``cli``), nor what runs it (``actors``, ``cron``, ``devmode``).
- ``cli`` (the operator command, a front end beside ``web``) imports ``services``, ``models``,
  ``embedded`` and ``devmode``, and ``actors`` to build the broker its producer enqueues on; never
  ``web``: what both front ends print (a job's JSON shape) lives in ``services``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"actors", "bench", "cli", "cron", "devmode", "embedded", "models", "sandbox", "services", "web"}
ALLOWED = {
    "models": {"models"},
    "sandbox": {"sandbox", "embedded"},
    "embedded": {"embedded"},
    "services": {"services", "models"},
    "cli": {"cli", "services", "models", "embedded", "devmode", "actors"},
}


def our_imports(path: Path) -> set[str]:
    """The top-level packages of sellersync that a module imports (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_its_direction_allows(package):
    # Given every module of the package
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules

    # When its imports of our own packages are read
    strays = {str(m.relative_to(ROOT)): sorted(our_imports(m) - ALLOWED[package]) for m in modules}

    # Then none reaches outside what it may use
    assert {m: s for m, s in strays.items() if s} == {}
