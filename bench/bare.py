"""The baseline of the drain and cost benchmarks: a bare Dramatiq actor doing a sync job's real work.

    python -m dramatiq bench.bare --processes P --threads T      (environment as for our worker)

Stock Dramatiq (a RedisBroker with its default middleware, queue ``bare`` under ``<ns>-bare``) and
one actor that, for each active seller account of the user, makes the same SP-API calls with the same
client (python-amazon-sp-api through ``services.sync.spapi_client``) and the same data writes (the orders,
metrics, inventory and velocity upserts of ``services.sync.fetch``, the analysis, the Redis cache, the
account's and the user's ``last_synced_at``). What it leaves out is exactly our framework: no job
records, no per-user dedup, no shared quota buckets, no resumable fetch progress, no cancel checks,
no worker presence. The difference between the two is what that framework costs.
"""

from __future__ import annotations

import dramatiq

from bench.workers import BARE_QUEUE, build_bare_broker
from models import SellerAccount, User, utcnow
from services.platform.required_settings import settings_for_process_or_exit
from services.platform.store import connect_store
from services.sync import cache
from services.sync.analysis import analyse_account, analysis_json
from services.sync.fetch import fetch_account
from services.sync.spapi_client import account_clients

_settings = settings_for_process_or_exit("worker")
connect_store(_settings)
broker = build_bare_broker(_settings.redis_url or "", _settings.redis_namespace)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=BARE_QUEUE, max_retries=0)
def bare_sync(user_id: str) -> None:
    for account in SellerAccount.objects(user_id=user_id, status="active"):
        now = utcnow()
        # Stock: no shared quota buckets and no worker metrics, so the cost of ours is what we add.
        with account_clients(account, _settings, quotas=None, metrics=None) as clients:
            fetch_account(account, clients, now)
        analysis = analyse_account(account, now)
        cache.write_analysis(user_id, account.country, analysis_json(analysis), settings=_settings)
        SellerAccount.objects(id=account.id).update_one(set__last_synced_at=now)
    User.objects(user_id=user_id).update_one(set__last_synced_at=utcnow())
