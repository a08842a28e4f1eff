"""Builds one campaign sync DAG from one spec: the shape every sync shares.

gate → ensure_lists → qualify_and_plan → guard → add → remove → publish_added / publish_removed → summary
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from dynamics_campaign_sync.assets import added_asset, removed_asset
from dynamics_campaign_sync.operators.campaign_sync import (
    AddToDynamicsCampaignOperator,
    CampaignSyncGuardOperator,
    CampaignSyncSummaryOperator,
    EnsureOwnedListsOperator,
    PlanCampaignSyncOperator,
    PublishMembershipEventsOperator,
    RemoveFromDynamicsCampaignOperator,
)
from dynamics_campaign_sync.qualification import CampaignSpec
from dynamics_campaign_sync.sensors.campaign_active import DynamicsCampaignActiveSensor

#: Caps concurrent Dataverse work across every sync DAG (service protection limits are per user).
DATAVERSE_POOL = "dataverse"
DAG_ID_PREFIX = "campaign_sync__"


def dag_id_for(spec: CampaignSpec) -> str:
    return f"{DAG_ID_PREFIX}{spec.key}"


def build_campaign_sync_dag(spec: CampaignSpec) -> DAG:
    schedule = spec.schedule
    start_date = pendulum.instance(schedule.start_date, tz=schedule.timezone) \
        if schedule.start_date.tzinfo is None else pendulum.instance(schedule.start_date)
    default_args = {
        "owner": spec.owner,
        "retries": 3,
        "retry_delay": pendulum.duration(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": pendulum.duration(minutes=10),
    }
    with DAG(
        dag_id=dag_id_for(spec),
        description=spec.title,
        doc_md=spec.doc_md(),
        schedule=CronDataIntervalTimetable(schedule.cron, timezone=schedule.timezone),
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        tags=sorted({"campaign-sync", *spec.tags}),
        default_args=default_args,
        params={
            "dry_run": Param(False, type="boolean", description="Plan and summarise only: no writes, no events"),
            "override_guard": Param(False, type="boolean",
                                    description="Write even if the plan exceeds the spec's max adds/removes"),
            "take_over_campaign": Param(
                False, type="boolean",
                description="Take the campaign over from the spec that synced it before (after renaming or "
                            "replacing a spec): its members become this spec's and follow this spec's rules"),
            "republish_events": Param(
                False, type="boolean",
                description="Emit this run's added/removed asset events again even though Airflow already has "
                            "them (downstream DAGs run again for the same people)"),
        },
    ) as dag:
        common = {"spec": spec, "pool": DATAVERSE_POOL}
        gate = DynamicsCampaignActiveSensor(
            task_id="gate",
            campaign_id=spec.campaign.id,
            campaign_name=spec.campaign.name,
            blocked_statuses=list(spec.blocked_statuses),
            fail_fast=True,
            pool=DATAVERSE_POOL,
        )
        lists = EnsureOwnedListsOperator(task_id="ensure_lists", **common)
        plan = PlanCampaignSyncOperator(task_id="qualify_and_plan", **common)
        guard = CampaignSyncGuardOperator(task_id="guard", spec=spec)
        add = AddToDynamicsCampaignOperator(task_id="add", **common)
        remove = RemoveFromDynamicsCampaignOperator(task_id="remove", **common)
        publish_added = PublishMembershipEventsOperator(
            task_id="publish_added", action="add", spec=spec, asset=added_asset(spec.key))
        publish_removed = PublishMembershipEventsOperator(
            task_id="publish_removed", action="remove", spec=spec, asset=removed_asset(spec.key))
        summary = CampaignSyncSummaryOperator(
            task_id="summary", spec=spec, trigger_rule="none_failed",
            stage_task_ids={"gate": "gate", "lists": "ensure_lists", "plan": "qualify_and_plan", "add": "add",
                            "remove": "remove", "published_added": "publish_added",
                            "published_removed": "publish_removed"},
        )
        gate >> lists >> plan >> guard >> add >> remove >> [publish_added, publish_removed] >> summary
    return dag
