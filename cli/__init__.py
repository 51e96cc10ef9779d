"""The ``sellersync`` command: operators' tools, thin over ``services/`` (README, "Operating it").

Tables by default, ``--json`` for machines; one-line errors on stderr; exit 2 for bad arguments
(and malformed settings), 1 for a failed operation (an unknown user or job, a conflict, a server out of
reach).
"""
