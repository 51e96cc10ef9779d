"""The Falcon REST API and the job-status dashboard (``web.app:get_app()`` under gunicorn)."""
