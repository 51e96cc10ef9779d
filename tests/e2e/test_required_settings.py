"""Each production process, as the Procfile starts it, refuses to run without a required setting.

No fallback to an embedded server or a process-local store: the process exits non-zero with one line
naming the missing variable, and no traceback.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from embedded.ports import free_port
from embedded.processes import child_environment
from embedded.procfile import read_procfile
from tests.support import settings_env

pytestmark = pytest.mark.e2e

ALWAYS = ["REDIS_URL", "MONGODB_URI", "FERNET_KEY", "SP_API_ENDPOINT"]
REQUIRED = {
    "release": ALWAYS,
    "worker": ALWAYS,
    "scheduler": ALWAYS,
    "web": [*ALWAYS, "API_TOKENS"],
}


def run_without(settings, process: str, missing: str) -> subprocess.CompletedProcess:
    env = settings_env(settings, API_TOKENS="a-token-of-sixteen-chars", PORT=str(free_port()))
    env.pop(missing)
    for lwa in ("SP_API_LWA_APP_ID", "SP_API_LWA_CLIENT_SECRET"):
        env.pop(lwa, None)
    command = read_procfile()[process]
    return subprocess.run(
        ["/bin/sh", "-c", f"exec {command}"],
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("process", sorted(REQUIRED))
def test_a_production_process_without_a_required_setting_exits_with_one_line_naming_it(settings, process):
    # Given the Procfile's command for the process, and an environment lacking one required setting
    missing = REQUIRED[process]

    # When the process starts without each of them in turn
    with ThreadPoolExecutor(max_workers=len(missing)) as pool:
        runs = dict(
            zip(missing, pool.map(lambda name: run_without(settings, process, name), missing), strict=True)
        )

    # Then it exits non-zero, with one line naming the variable, and no traceback
    for name, done in runs.items():
        output = done.stdout + done.stderr
        ours = [line for line in output.splitlines() if line.startswith("sellersync:")]
        assert done.returncode != 0, (name, output)
        assert len(ours) == 1, (name, output)
        named = "SP_API_LWA_APP_ID" if name == "SP_API_ENDPOINT" else name
        assert ours[0].startswith(f"sellersync: {named} ") and f"the {process} process" in ours[0]
        assert "Traceback" not in output, (name, output)
