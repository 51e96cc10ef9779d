"""Servers that dev mode, the tests and the benchmarks start for themselves when no URL is given.

Nothing here runs in production: the Procfile's processes require REDIS_URL and MONGODB_URI. Each
server is a separate process (redis-server, SecantusDB) or a background thread (the WSGI server that
serves the SP-API sandbox), started on a free loopback port and stopped by its ``stop()``.
``embedded.stack`` starts them all, the one way; ``embedded.lifeline`` ties every process started here
to its starter (it dies with it, even when the starter is SIGKILLed) and stops processes, the one way.
"""
