"""Lists the Dynamics campaigns the ``dynamics_default`` connection can see.

A first DAG to run after setting up the connection: if it succeeds, the credential, the URL and the
read privilege on campaigns are right.
"""

from __future__ import annotations

import logging
from collections import Counter

import pendulum
from airflow.sdk import dag, task

log = logging.getLogger(__name__)


@dag(
    dag_id="dynamics_campaigns_overview",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["dynamics", "example"],
    default_args={"owner": "marketing-data", "retries": 2, "retry_delay": pendulum.duration(seconds=30)},
    doc_md=__doc__,
)
def dynamics_campaigns_overview() -> None:
    @task
    def list_campaigns() -> dict[str, object]:
        from dynamics_campaign_sync.hooks.dynamics import DynamicsHook

        hook = DynamicsHook()
        campaigns = list(hook.client.list_campaigns())
        for campaign in campaigns:
            log.info("%-40s %-8s %-16s %s", campaign.name, "active" if campaign.is_active else "inactive",
                     campaign.status_name, campaign.id)
        # A small summary for XCom; the campaigns themselves stay in the log.
        return {
            "campaigns": len(campaigns),
            "active": sum(c.is_active for c in campaigns),
            "by_status": dict(Counter(c.status_name for c in campaigns)),
            "requests": hook.client.stats.requests,
        }

    list_campaigns()


dynamics_campaigns_overview()
