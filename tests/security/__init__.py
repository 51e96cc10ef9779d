"""Security tests: who gets in, what a request may carry, and where a secret may (never) appear."""
