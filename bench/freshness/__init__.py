"""Freshness at scale: a time-scaled run of the real system, measuring the share of users whose data
is younger than their interval.

    python -m bench.freshness [--users 150] [--hours 3] [--scale 60] [--tick-minutes 5]

Everything is the production topology on loopback, with time compressed ``--scale`` times:

- the SP-API sandbox and our quota buckets at SANDBOX_TIME_SCALE = SP_API_QUOTA_TIME_SCALE = scale;
- SYNC_INTERVAL_MINUTES = 60 simulated minutes (``60 / scale`` real minutes: scale 60 → 1) and the
  scheduler (the Procfile's ``scheduler`` process) ticking every ``--tick-minutes`` simulated
  minutes (SCHEDULER_EVERY_SECONDS); quota sleeps, job backoffs and the job time limit scaled alike;
- N sync-enabled users with 1-3 seller accounts (60/30/10 %) and order volumes drawn from a log-normal
  spread (median 60 orders in 30 days, a long tail to 5,000, which a first sync pages through at
  getOrders' one page a minute), 3-30 SKUs;
- workers: the Procfile's ``worker`` process, first at ``--processes`` × ``--threads``, then resized
  after the first wave by ``services.operations.capacity`` (the plan behind ``sellersync capacity``,
  from the first wave's job records, for one interval), within ``--max-processes``;
- the embedded document server and redis-server, each a separate process.

At each sample (every ``--tick-minutes`` simulated minutes) it reports the share of users whose last
successful sync (``User.last_synced_at``) is younger than the interval, p50/p95 of the data's age, and
the queue's oldest waiting message. After the first wave (every user synced once) the target is
≥ 99 % fresh at every sample. It ends with the overall share, the CPU each part used, and the
bottleneck it points at: scheduler, Redis, document store, worker CPU or SP-API quotas.

The modules: ``drive`` runs it, ``sample`` reads the users and the queue, ``diagnose`` names the
bottleneck, ``report`` prints and reports the figures.
"""

#: The product's interval, in simulated minutes.
INTERVAL_MINUTES = 60
#: The share of users that must be fresh at every sample after the first wave.
TARGET_SHARE = 0.99
#: The key of the CPU shares that reads the whole machine, other work included.
WHOLE_MACHINE = "whole machine (every process, of all cores)"
