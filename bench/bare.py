"""The baseline of the drain and cost benchmarks: a bare Dramatiq actor doing a sync job's real work.

    python -m dramatiq bench.bare --processes P --threads T      (environment as for our worker)

Stock Dramatiq (queue ``bare`` under ``<ns>-bare``) and one actor making, for each active account of
the user, the same SP-API calls with the same client and the same data writes as our job. It leaves
out exactly our framework: job records, dedup, shared quota buckets, resumable progress, cancel
checks, worker presence and metrics.
"""

from __future__ import annotations

import dramatiq

from bench.workers import BARE_QUEUE, build_bare_broker
from models import SellerAccount, User, utcnow
from services.platform.required_settings import settings_for_process_or_exit
from services.platform.store import connect_store
from services.sync import cache
from services.sync.analysis import AnalysisInputs, analyse_account, analysis_json
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
            fetched = fetch_account(account, clients, now)
        # The same analysis inputs as ours: what was just fetched.
        inputs = AnalysisInputs(fetched.metrics, fetched.stock, fetched.orders)
        analysis = analyse_account(account, now, inputs=inputs)
        cache.write_analysis(user_id, account.country, analysis_json(analysis), settings=_settings)
        SellerAccount.objects(id=account.id).update_one(
            set__last_synced_at=now, set__orders_cursor=fetched.watermark
        )
    User.objects(user_id=user_id).update_one(set__last_synced_at=utcnow())
