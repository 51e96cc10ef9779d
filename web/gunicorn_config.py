"""gunicorn's configuration for the Procfile's ``web:`` process (``-c python:web.gunicorn_config``).

Its worker class bounds the time a client has to send a request (web.gunicorn_worker); its access log
never holds a query string.

The settings are checked once in the master, before any worker is forked: a missing or malformed
setting stops gunicorn with one line naming it, instead of one line per worker that fails to boot.
"""


def on_starting(server) -> None:
    from services.platform.required_settings import settings_for_process_or_exit

    settings_for_process_or_exit("web", 3)


#: gthread (the Procfile's --threads), with a deadline on reading each request: gunicorn has no header
#: timeout of its own, and a client trickling its request would hold a thread for as long as it liked.
worker_class = "web.gunicorn_worker.DeadlineThreadWorker"

#: The access log line: gunicorn's default, but with the path alone (``%(U)s``) where the default has
#: the whole request line with its query string, and without the Referer (another site's URL, query
#: and all). A token a client puts in ``?access_token=`` (the API never reads one there) must not end
#: up in the logs, nor any other value of a query.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
