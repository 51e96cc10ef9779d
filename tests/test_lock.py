"""The hashed locks agree with setup.cfg, offline (``make lock-check`` recompiles them against PyPI).

requirements.txt is what a Python buildpack installs (install_requires); requirements-dev.txt adds the
dev extra and is what ``make install`` installs with ``--require-hashes``. A dependency added to or
removed from setup.cfg, or a range that the pinned version no longer satisfies, fails here until
``make lock`` has been run.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
#: How pip-compile names setup.cfg in a pin's "# via" annotation: a direct dependency.
DIRECT = "sellersync (setup.cfg)"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?: ; (?P<marker>[^\\]+?))? \\$")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass
class Pin:
    version: str
    marker: str | None
    hashes: set[str]
    via: set[str]


def read_lock(name: str) -> dict[str, Pin]:
    """The pins of a pip-compile lock, by canonical name."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (ROOT / name).read_text().splitlines():
        if match := _PIN.match(line):
            current = pins[canonicalize_name(match["name"])] = Pin(
                match["version"], match["marker"], set(), set()
            )
        elif current and (found := _HASH.search(line)):
            current.hashes.add(found[1])
        elif current and line.strip().startswith("#") and (via := line.strip("# ").removeprefix("via")):
            current.via.add(via.strip())
    return pins


def declared(*extras: str) -> list[Requirement]:
    """install_requires plus ``extras``, as setup.cfg declares them."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += config["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in (s.strip() for s in lines) if line and not line.startswith("#")]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.txt", ()), ("requirements-dev.txt", ("dev",))])
def test_every_declared_dependency_is_pinned_within_its_range(lock, extras):
    # Given setup.cfg's dependencies and the lock generated from them
    pins = read_lock(lock)
    for requirement in declared(*extras):
        # Then each is pinned, hashed, at a version its range admits, under the same marker
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin, f"{requirement.name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{requirement.name}=={pin.version} in {lock} is outside {requirement.specifier}: run `make lock`"
        )
        assert pin.hashes, f"{requirement.name} has no hash in {lock}"
        assert (pin.marker or None) == (str(requirement.marker) if requirement.marker else None)


@pytest.mark.parametrize(("lock", "extras"), [("requirements.txt", ()), ("requirements-dev.txt", ("dev",))])
def test_the_lock_names_no_direct_dependency_that_setup_cfg_dropped(lock, extras):
    # Given the lock's pins that pip-compile marked as coming from setup.cfg
    direct = {name for name, pin in read_lock(lock).items() if DIRECT in pin.via}

    # Then they are exactly setup.cfg's dependencies
    assert direct == {canonicalize_name(r.name) for r in declared(*extras)}, "run `make lock`"


def test_the_dev_lock_holds_the_runtime_pins_with_the_same_hashes():
    # Given both locks (the dev lock is compiled with the runtime lock as a constraint)
    runtime, dev = read_lock("requirements.txt"), read_lock("requirements-dev.txt")

    # Then what CI installs with --require-hashes is what the buildpack will install
    for name, pin in runtime.items():
        assert name in dev, f"{name} is missing from requirements-dev.txt"
        assert (dev[name].version, dev[name].hashes) == (pin.version, pin.hashes), name


def test_the_buildpack_finds_the_interpreter_that_the_lock_was_compiled_for():
    # Given .python-version and the locks' header
    version = (ROOT / ".python-version").read_text().strip()
    header = (ROOT / "requirements.txt").read_text().splitlines()[1]

    # Then they name the same Python
    assert header.endswith(f"Python {version}")
    assert f"Python :: {version}" in (ROOT / "setup.cfg").read_text()
