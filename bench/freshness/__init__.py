"""Freshness at scale: a time-scaled run of the real system, measuring the share of users whose data
is younger than their interval (README, Freshness at scale).

    python -m bench.freshness [--users 150] [--hours 3] [--scale 60] [--tick-minutes 5]

The Procfile's worker and scheduler on loopback, time compressed ``--scale`` times (the sandbox, our
quotas, the interval, the tick, waits and backoffs); users with 1-3 accounts and log-normal order
volumes. The workers start at ``--processes`` × ``--threads`` and are resized after the first wave by
``services.operations.capacity``, within ``--max-processes``. Each tick samples the share of fresh
users, the data's age and the oldest waiting job; after the first wave the target is ≥ 99 % fresh at
every sample. It ends with the CPU each part used and the bottleneck it points at.

``drive`` runs it, ``sample`` reads the users and the queue, ``diagnose`` names the bottleneck,
``report`` prints the figures.
"""

#: The product's interval, in simulated minutes.
INTERVAL_MINUTES = 60
#: The share of users that must be fresh at every sample after the first wave.
TARGET_SHARE = 0.99
#: The key of the CPU shares that reads the whole machine, other work included.
WHOLE_MACHINE = "whole machine (every process, of all cores)"
