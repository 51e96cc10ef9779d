"""app.json, the PaaS manifest, agrees with the Procfile and with what each process requires.

The requirements come from services.platform.required_settings and the settings' names from
services.platform.settings, never from a copy, so a new required setting or process fails here until the
manifest declares it.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from embedded.procfile import read_procfile
from services.platform.required_settings import (
    PROCESSES,
    SP_API_ALTERNATIVE,
    SP_API_CREDENTIALS,
    required_variables,
)
from services.platform.settings import Settings

MANIFEST = json.loads((Path(__file__).resolve().parent.parent / "app.json").read_text())
#: The Procfile's release step runs from the release phase, not from the formation.
RELEASE = "release"
#: Variables the platform sets itself; declaring one in app.json would override it.
PLATFORM = {"PORT"}
SETTINGS = {f.name.upper() for f in fields(Settings)}


def provided_by_addons() -> set[str]:
    """The config vars the add-ons set: an attachment named ``as`` sets ``<as>_URL``."""
    return {f"{addon['as']}_URL" for addon in MANIFEST["addons"] if isinstance(addon, dict)}


def test_the_formation_runs_one_of_each_long_running_process_of_the_procfile():
    # Given the Procfile's process types
    procfile = read_procfile()

    # Then the formation runs each of them but the release step, once, and names nothing else
    assert set(MANIFEST["formation"]) == set(procfile) - {RELEASE}
    assert all(entry["quantity"] == 1 for entry in MANIFEST["formation"].values())
    # And the release phase has its process: the platform runs it before each deploy goes out
    assert RELEASE in procfile and set(procfile) == set(PROCESSES)
    assert "release" in MANIFEST["description"] and "postdeploy" not in MANIFEST.get("scripts", {})


@pytest.mark.parametrize("process", PROCESSES)
def test_every_setting_a_process_requires_is_required_by_the_manifest_or_set_by_an_add_on(process):
    # Given what the process refuses to start without
    needed = set(required_variables(process)) | set(SP_API_CREDENTIALS)
    env = MANIFEST["env"]

    # Then the manifest asks for each of them, or an add-on provides it
    for name in needed - provided_by_addons():
        assert env.get(name, {}).get("required") is True, f"{name} ({process}) must be required in app.json"
    # And the sandbox alternative stays optional: production talks to Amazon
    assert env[SP_API_ALTERNATIVE]["required"] is False


def test_the_manifest_declares_only_settings_and_procfile_variables_each_with_a_description():
    # Given the variables the Procfile reads besides the settings (e.g. WEB_CONCURRENCY)
    procfile_vars = set(re.findall(r"\$\{(\w+)", " ".join(read_procfile().values())))

    # Then every declared variable is one of those or a setting, never one the platform sets
    env = MANIFEST["env"]
    assert set(env) <= (SETTINGS | procfile_vars) - PLATFORM
    assert not set(env) & provided_by_addons()
    assert all(entry["description"].strip() for entry in env.values())
    # And every Procfile variable is a setting, declared, or the platform's
    assert procfile_vars <= SETTINGS | set(env) | PLATFORM


def test_the_manifest_default_values_are_valid_settings():
    # Given the values app.json proposes
    values = {name: e["value"] for name, e in MANIFEST["env"].items() if "value" in e and name in SETTINGS}

    # Then the settings accept every one of them (a malformed one would stop each process at start)
    settings = Settings.from_env(values)
    assert settings.redis_namespace == values["REDIS_NAMESPACE"]


def test_redis_is_an_add_on_and_mongodb_a_uri():
    assert "REDIS_URL" in provided_by_addons()
    assert MANIFEST["env"]["MONGODB_URI"]["required"] is True
    assert len(MANIFEST["description"]) <= 140  # the app.json schema's limit
