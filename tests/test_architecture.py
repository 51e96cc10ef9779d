"""Each part points one way (every package has a direction): tests of the import graph.

Packages:
- ``models`` imports nothing of sellersync but itself: its callers hand it the MongoDB URI.
- ``sandbox`` stands in for Amazon and imports nothing of sellersync but itself and ``embedded``
  (the threaded WSGI server it shares with dev mode, which belongs to neither).
- ``embedded`` (the servers dev mode, the benchmarks and the tests start) imports nothing of ours.
- ``services`` (the business logic) imports only itself and ``models``: never a front end (``web``,
  ``cli``), nor what runs it (``actors``, ``cron``, ``devmode``).
- ``actors`` (the Dramatiq side) runs the services: ``services`` and ``models`` only.
- ``cron``, ``web``, ``cli`` and ``devmode`` are entry points: they may wire ``actors`` (the broker
  their producer enqueues on), but only in the one module that builds their producer.
- ``cli`` never imports ``web``: what both front ends print (a job's JSON shape) lives in ``services``.
- ``bench`` measures everything and is imported by nothing.

Inside ``services``, the subpackages point one way too: ``platform`` (settings, Redis, the store)
imports no other subpackage; ``jobs`` only ``platform``; ``sync`` and ``schedule`` only ``jobs`` and
``platform``; ``operations`` (doctor, capacity, onboarding…) may use them all.

And no module imports itself back through others: the module graph has no circle.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"actors", "bench", "cli", "cron", "devmode", "embedded", "models", "sandbox", "services", "web"}
ALLOWED = {
    "models": {"models"},
    "sandbox": {"sandbox", "embedded"},
    "embedded": {"embedded"},
    "services": {"services", "models"},
    "actors": {"actors", "services", "models"},
    "cron": {"cron", "actors", "services", "models"},
    "web": {"web", "actors", "services", "models", "embedded"},
    "cli": {"cli", "actors", "services", "models", "embedded", "devmode"},
    "devmode": {"devmode", "actors", "services", "models", "embedded", "sandbox"},
    "bench": OURS,
}
#: The one module of each entry point that wires the actors (builds its producer on the broker).
WIRING = {"cron/scheduler.py", "web/app.py", "cli/context.py", "devmode/__main__.py"}
SERVICE_LAYERS = {
    "platform": {"platform"},
    "jobs": {"jobs", "platform"},
    "sync": {"sync", "jobs", "platform"},
    "schedule": {"schedule", "jobs", "platform"},
    "operations": {"operations", "sync", "schedule", "jobs", "platform"},
}


def imported_names(path: Path) -> set[str]:
    """Every dotted name a module imports, at any depth of its code (``from a.b import c``: ``a.b`` and
    ``a.b.c``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def our_imports(path: Path) -> set[str]:
    """The top-level packages of sellersync that a module imports."""
    return {name.split(".")[0] for name in imported_names(path)} & OURS


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_every_package_has_rules():
    assert set(ALLOWED) == OURS == {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_its_direction_allows(package):
    # Given every module of the package
    modules = modules_of(package)
    assert modules

    # When its imports of our own packages are read
    strays = {str(m.relative_to(ROOT)): sorted(our_imports(m) - ALLOWED[package]) for m in modules}

    # Then none reaches outside what it may use
    assert {m: s for m, s in strays.items() if s} == {}


def test_only_the_entry_points_wiring_imports_the_actors():
    # Given the modules of the entry points
    modules = [m for package in ("cron", "web", "cli", "devmode") for m in modules_of(package)]

    # When those that import actors are listed
    wiring = {str(m.relative_to(ROOT)) for m in modules if "actors" in our_imports(m)}

    # Then they are the one wiring module of each
    assert wiring <= WIRING


@pytest.mark.parametrize("layer", sorted(SERVICE_LAYERS))
def test_the_subpackages_of_services_point_one_way(layer):
    # Given the modules of one subpackage of services
    modules = modules_of(f"services/{layer}")
    assert modules

    # When the subpackages of services they import are read
    def layers(path: Path) -> set[str]:
        return {n.split(".")[1] for n in imported_names(path) if n.startswith("services.")}

    strays = {str(m.relative_to(ROOT)): sorted(layers(m) - SERVICE_LAYERS[layer]) for m in modules}

    # Then none reaches a layer above its own
    assert {m: s for m, s in strays.items() if s} == {}


def test_no_module_imports_itself_back_through_others():
    # Given which of our modules each of our modules imports
    modules = {}
    for package in OURS:
        for path in modules_of(package):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph = {name: (imported_names(path) & modules.keys()) - {name} for name, path in modules.items()}

    # When the graph is sorted, then every module comes after those it imports (a circle raises)
    order = list(graphlib.TopologicalSorter(graph).static_order())
    assert len(order) == len(modules)
