"""LOG_LEVEL: our processes log at the level it names, and HTTP libraries' per-request lines show
only at DEBUG (they were 277 of 389 lines of a two-minute trial at INFO)."""

from __future__ import annotations

import logging

import pytest

from services.platform.errors import SettingsError
from services.platform.logs import CHATTY_LIBRARIES, apply_level
from services.platform.settings import Settings


@pytest.fixture
def restore_levels():
    names = ["", *CHATTY_LIBRARIES]
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("level", "http_level"),
    [("INFO", logging.WARNING), ("WARNING", logging.WARNING), ("DEBUG", logging.DEBUG)],
)
def test_http_request_lines_show_only_at_debug(restore_levels, level, http_level):
    # Given LOG_LEVEL
    settings = Settings.from_env({"LOG_LEVEL": level})

    # When a process applies it
    apply_level(settings.log_level)

    # Then the root logger takes it, and the HTTP libraries log their requests only at DEBUG
    assert logging.getLogger().level == logging.getLevelName(level)
    assert {logging.getLogger(name).level for name in CHATTY_LIBRARIES} == {http_level}
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO) or level == "DEBUG"


def test_an_unknown_log_level_is_refused_by_name():
    with pytest.raises(SettingsError, match="^LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR"):
        Settings.from_env({"LOG_LEVEL": "LOUD"})
