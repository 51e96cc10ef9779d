"""The scheduler process (``python -m cron.scheduler``): it only enqueues."""
