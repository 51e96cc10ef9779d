"""gunicorn's configuration for the Procfile's ``web:`` process (``-c python:web.gunicorn_config``).

The settings are checked once in the master, before any worker is forked: a missing or malformed
setting stops gunicorn with one line naming it, instead of one line per worker that fails to boot.
"""


def on_starting(server) -> None:
    from services.required_settings import settings_for_process_or_exit

    settings_for_process_or_exit("web", 3)
