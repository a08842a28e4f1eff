"""Reads every Dynamics campaign (name, state, status) into the ledger's catalog.

Marketo's "Enable campaign sync": the catalog is what the membership dashboard shows next to each
sync, and what an analyst checks before writing a spec (which campaigns exist, which are active).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="dynamics_campaign_catalog",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["campaign-sync", "dynamics", "catalog"],
    default_args={"owner": "marketing-data", "retries": 3, "retry_delay": pendulum.duration(minutes=1),
                  "retry_exponential_backoff": True, "pool": "dataverse"},
    doc_md=__doc__,
)
def dynamics_campaign_catalog() -> None:
    @task
    def refresh_catalog() -> dict[str, int]:
        from dynamics_campaign_sync.hooks.database import LedgerHook
        from dynamics_campaign_sync.hooks.dynamics import DynamicsHook

        campaigns = [
            {"campaign_id": c.id, "name": c.name, "statecode": c.statecode, "statuscode": c.statuscode}
            for c in DynamicsHook().client.list_campaigns()
        ]
        stored = LedgerHook().ledger.upsert_campaigns(campaigns, pendulum.now("UTC"))
        return {"campaigns": len(campaigns), "stored": stored,
                "active": sum(c["statecode"] == 0 for c in campaigns)}

    refresh_catalog()


dynamics_campaign_catalog()
