"""What each production process requires, and the one-line exit when a requirement is missing.

The Procfile's processes (``release``, ``web``, ``worker``, ``scheduler``) never start embedded
servers and never fall back to a local store: a worker on a process-local store would fail every
job as "no user" while the web process showed another, empty store. So each one checks its settings
before it does anything, and a missing one stops it with exit status 2 (``web``: 3, gunicorn's
"worker failed to boot", so that the master halts instead of restarting in a loop) and one line on
stderr naming the variable. Dev mode and the tests pass every setting to the processes they start.
"""

from __future__ import annotations

import sys

from services.platform.errors import SettingsError
from services.platform.settings import Settings, get_settings

#: Every production process needs these; the text says what to set.
_ALWAYS = {
    "REDIS_URL": ("redis_url", "the Redis server of the broker, cache and locks (redis://…)"),
    "MONGODB_URI": ("mongodb_uri", "the MongoDB server of the documents (mongodb://…)"),
    "FERNET_KEY": ("fernet_key", "the key that encrypts refresh tokens at rest (Fernet.generate_key())"),
}
#: Settings a process needs beyond the ones above.
_EXTRA = {
    "web": {"API_TOKENS": ("api_tokens", "the bearer tokens of the REST API, comma-separated")},
}
PROCESSES = ("release", "web", "worker", "scheduler")
#: The LWA application's credentials: required together, unless SP_API_ENDPOINT names a sandbox.
SP_API_CREDENTIALS = ("SP_API_LWA_APP_ID", "SP_API_LWA_CLIENT_SECRET")
SP_API_ALTERNATIVE = "SP_API_ENDPOINT"


def required_variables(process: str) -> tuple[str, ...]:
    """The variables ``process`` cannot start without (besides :data:`SP_API_CREDENTIALS`, which
    :data:`SP_API_ALTERNATIVE` may replace); app.json's test reads them from here."""
    return (*_ALWAYS, *_EXTRA.get(process, {}))


def missing_setting(settings: Settings, process: str) -> str | None:
    """The first missing requirement of ``process`` as one line, or None when nothing is missing."""
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}")
    for name, (attribute, meaning) in {**_ALWAYS, **_EXTRA.get(process, {})}.items():
        if not getattr(settings, attribute):
            return f"{name} is required by the {process} process: {meaning}"
    # Without LWA credentials SP-API calls would go to the sandbox: only when one is named explicitly.
    if settings.uses_sandbox and not settings.sp_api_endpoint:
        return (
            f"{' and '.join(SP_API_CREDENTIALS)} are required by the {process} process "
            f"(or {SP_API_ALTERNATIVE} naming an SP-API sandbox)"
        )
    return None


def settings_for_process_or_exit(process: str, exit_code: int = 2) -> Settings:
    """The settings from the environment, checked for ``process``; else one line and SystemExit."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        _exit(str(exc), exit_code)
    problem = missing_setting(settings, process)
    if problem:
        _exit(problem, exit_code)
    return settings


def _exit(message: str, exit_code: int):
    print(f"sellersync: {message}", file=sys.stderr)
    raise SystemExit(exit_code)
