"""Settings are validated at start: a malformed value is one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.platform.errors import SettingsError
from services.platform.settings import Settings


def test_defaults_are_those_of_the_design():
    settings = Settings.from_env({})
    assert settings.redis_namespace == "sellersync"
    assert (settings.worker_concurrency, settings.worker_processes) == (3, 1)
    assert (settings.sync_cron, settings.sync_interval_minutes) == ("0 * * * *", 60)
    assert (settings.job_max_retries, settings.job_time_limit_seconds) == (3, 900)
    assert settings.job_status_retention_days == 30
    assert settings.uses_sandbox and settings.api_tokens == ()
    assert settings.cache_ttl_seconds == 7200


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JOB_MAX_RETRIES", "three", "JOB_MAX_RETRIES: expected a whole number (got 'three')"),
        ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY: must be between 1 and 256 (got '0')"),
        ("PORT", "70000", "PORT: must be between 1 and 65535 (got '70000')"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL: expected a URL starting with redis://"),
        ("SYNC_INTERVAL_MINUTES", "0", "SYNC_INTERVAL_MINUTES: must be at least 1 (got '0')"),
        ("MONGODB_URI", "http://x", "MONGODB_URI: expected a URL starting with mongodb://"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT: expected one of text, json (got 'xml')"),
        ("SYNC_CRON", "every hour", "SYNC_CRON:"),
        ("FERNET_KEY", "not-a-key", "FERNET_KEY:"),
        ("API_TOKENS", "short", "API_TOKENS: every token must be at least 16 characters"),
        ("REDIS_NAMESPACE", "a b", "REDIS_NAMESPACE:"),
        ("USER_TOKEN_SECRET", "x" * 31, "USER_TOKEN_SECRET: must be at least 32 bytes"),
    ],
)
def test_a_malformed_setting_names_the_variable(name, value, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_TOKENS", "s3cr3t"),
        ("FERNET_KEY", "s3cr3t"),
        ("MONGODB_URI", "s3cr3t://user:pw@host"),
        ("USER_TOKEN_SECRET", "s3cr3t"),
    ],
)
def test_a_malformed_secret_is_named_but_never_shown(name, value):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(f"{name}:")
    assert "s3cr3t" not in str(caught.value) and "a value that is not shown" in str(caught.value)


def test_lwa_credentials_must_come_in_pairs():
    with pytest.raises(SettingsError, match="^SP_API_LWA_CLIENT_SECRET: must be set together"):
        Settings.from_env({"SP_API_LWA_APP_ID": "amzn1.application-oa2-client.x"})


def test_api_tokens_are_a_comma_separated_list():
    settings = Settings.from_env({"API_TOKENS": "aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb,"})
    assert settings.api_tokens == ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb")


def test_user_token_secret_is_unset_by_default_and_kept_whole_when_set():
    # Unset: seller-scoped tokens are refused (web.auth); set: at least 32 bytes, used as given
    assert Settings.from_env({}).user_token_secret is None
    secret = "é" * 16  # 16 characters, 32 bytes
    assert Settings.from_env({"USER_TOKEN_SECRET": secret}).user_token_secret == secret


@pytest.mark.parametrize(
    "command", [["-m", "services.operations.release"], ["-m", "dramatiq", "actors", "--processes", "1"]]
)
def test_a_process_started_with_a_malformed_setting_stops_with_one_line(command):
    # Given a malformed JOB_MAX_RETRIES in the environment
    env = {"PATH": "/usr/bin:/bin", "JOB_MAX_RETRIES": "lots", "REDIS_URL": "redis://127.0.0.1:1/0"}

    # When the release step or a worker starts
    done = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True, timeout=60)

    # Then it exits non-zero with one line naming the variable
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "JOB_MAX_RETRIES" in line]
    assert lines and lines[0].endswith("sellersync: JOB_MAX_RETRIES: expected a whole number (got 'lots')")
    assert "Traceback" not in done.stderr
