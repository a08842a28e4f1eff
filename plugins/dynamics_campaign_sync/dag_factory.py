"""Builds one campaign sync DAG from one spec: the shape every sync shares (and, for a spec with a ``trigger``
section, its triggered DAG: :func:`build_triggered_dag`).

gate → ensure_lists → qualify_and_plan → guard → add → remove → publish_added / publish_removed → summary

A spec that does not validate gets a placeholder DAG instead (:func:`build_invalid_spec_dag`), so one
broken file costs only its own campaign and its problems show in the DAG list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from dynamics_campaign_sync.failure_reasons import keep_failure_reason
from dynamics_campaign_sync.naming import (
    added_asset,
    invalid_spec_dag_id,
    removed_asset,
    sync_dag_id,
    triggered_dag_id,
)
from dynamics_campaign_sync.operators.campaign_sync import (
    AddToDynamicsCampaignOperator,
    CampaignSyncGuardOperator,
    CampaignSyncSummaryOperator,
    EnsureOwnedListsOperator,
    PlanCampaignSyncOperator,
    PublishMembershipEventsOperator,
    RemoveFromDynamicsCampaignOperator,
)
from dynamics_campaign_sync.operators.invalid_spec import InvalidSpecOperator
from dynamics_campaign_sync.operators.triggered import (
    AdvanceWatermarkOperator,
    PlanTriggeredRunOperator,
    TriggeredGuardOperator,
    TriggeredSummaryOperator,
)
from dynamics_campaign_sync.sensors.campaign_active import DynamicsCampaignActiveSensor
from dynamics_campaign_sync.spec import CampaignSpec, SpecCollection
from dynamics_campaign_sync.spec.loader import SpecProblem, declared_key

#: Placeholder DAGs are never scheduled before this (any fixed past date: they have no interval of their own).
_PLACEHOLDER_START = pendulum.datetime(2026, 1, 1, tz="UTC")
#: Caps concurrent Dataverse work across every sync DAG (service protection limits are per user).
DATAVERSE_POOL = "dataverse"


def dag_id_for(spec: CampaignSpec) -> str:
    return sync_dag_id(spec.key)


def triggered_dag_id_for(spec: CampaignSpec) -> str:
    return triggered_dag_id(spec.key)


def _default_args(spec: CampaignSpec) -> dict[str, Any]:
    return {
        "owner": spec.owner,
        "retries": 3,
        "retry_delay": pendulum.duration(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": pendulum.duration(minutes=10),
        "on_failure_callback": keep_failure_reason,  # the dashboard shows why, beside the log link
    }


def build_campaign_sync_dag(spec: CampaignSpec) -> DAG:
    schedule = spec.schedule
    if schedule is None:  # trigger-only: the batch DAG is the safety net a person runs when needed
        timing: dict[str, Any] = {"schedule": None}
    else:
        start_date = pendulum.instance(schedule.start_date, tz=schedule.timezone) \
            if schedule.start_date.tzinfo is None else pendulum.instance(schedule.start_date)
        timing = {"schedule": CronDataIntervalTimetable(schedule.cron, timezone=schedule.timezone),
                  "start_date": start_date}
    with DAG(
        dag_id=dag_id_for(spec),
        dag_display_name=spec.title,
        description=spec.title,
        doc_md=spec.doc_md(),
        **timing,
        catchup=False,
        # A new campaign waits, paused, while its history is loaded oldest first (a backfill): unpaused at once,
        # it would apply the latest interval first and every older interval would then be superseded.
        is_paused_upon_creation=True,
        max_active_runs=1,
        tags=sorted({"campaign-sync", *spec.tags}),
        default_args=_default_args(spec),
    ) as dag:
        common: dict[str, Any] = {"spec": spec, "pool": DATAVERSE_POOL}
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
    _declare_run_params(dag)
    return dag


def _declare_run_params(dag: DAG) -> None:
    """The run options on the DAG alone, declared once its tasks exist.

    Given to ``DAG(...)``, Airflow deep-copies them into every task (once per operator class layer) and
    serialization validates each copy twice with jsonschema; assigning ``dag.params`` validates every default
    against its schema again (jsonschema checks the schema itself each time). Either was most of the parse time
    of 200 syncs. Added in place instead: the defaults are constants (the DAG integrity test validates them),
    and a task's run-time ``params`` are the DAG's merged with its own and the run's conf, so tasks see the same
    values either way.
    """
    dag.params.update(run_params())


def run_params() -> dict[str, Param]:
    """The options of a manual run (the trigger form), new objects per DAG: a run's conf updates them in place."""
    return {
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
    }


def build_triggered_dag(spec: CampaignSpec) -> DAG:
    """The triggered DAG of a trigger campaign: scheduled on its activity asset (whose watcher polls the activities
    table or a queue), adding the people with new activity through the batch path, then advancing the watermark.

    gate → ensure_lists → qualify_and_plan → guard → add → publish_added → advance_watermark → summary

    A DAG of its own (not the sync DAG on "asset or cron"): a triggered run has no data interval to supersede a
    batch run's, removals stay the batch schedule's, and one run at a time coalesces bursts — events arriving
    while a run is active make one more run, which reads everything past the watermark.
    """
    from dynamics_campaign_sync.hooks.database import LedgerHook
    from dynamics_campaign_sync.triggers.new_activity import activity_asset

    with DAG(
        dag_id=triggered_dag_id_for(spec),
        dag_display_name=f"{spec.title} (triggered)",
        description=f"{spec.title}: adds people as their activity arrives",
        doc_md=spec.doc_md(),
        schedule=[activity_asset(spec, LedgerHook.default_conn_name)],
        catchup=False,
        is_paused_upon_creation=True,
        max_active_runs=1,
        tags=sorted({"campaign-sync", "trigger-campaign", *spec.tags}),
        default_args=_default_args(spec),
    ) as dag:
        common: dict[str, Any] = {"spec": spec, "pool": DATAVERSE_POOL}
        gate = DynamicsCampaignActiveSensor(
            task_id="gate", campaign_id=spec.campaign.id, campaign_name=spec.campaign.name,
            blocked_statuses=list(spec.blocked_statuses), fail_fast=True, pool=DATAVERSE_POOL)
        lists = EnsureOwnedListsOperator(task_id="ensure_lists", **common)
        plan = PlanTriggeredRunOperator(task_id="qualify_and_plan", **common)
        guard = TriggeredGuardOperator(task_id="guard", spec=spec)
        add = AddToDynamicsCampaignOperator(task_id="add", **common)
        publish_added = PublishMembershipEventsOperator(
            task_id="publish_added", action="add", spec=spec, asset=added_asset(spec.key))
        advance = AdvanceWatermarkOperator(task_id="advance_watermark", spec=spec, trigger_rule="none_failed")
        summary = TriggeredSummaryOperator(
            task_id="summary", spec=spec, trigger_rule="none_failed",
            stage_task_ids={"gate": "gate", "lists": "ensure_lists", "plan": "qualify_and_plan", "add": "add",
                            "published_added": "publish_added"},
        )
        gate >> lists >> plan >> guard >> add >> publish_added >> advance >> summary
    _declare_run_params(dag)
    return dag


def placeholder_dag_id(path: str, taken: set[str]) -> str:
    """The DAG id of a broken spec: its campaign's usual DAG id when the file still declares a free key
    (the history stays in one place), else one derived from the file name."""
    key = declared_key(path)
    dag_id = sync_dag_id(key) if key else ""
    if not dag_id or dag_id in taken:
        dag_id = invalid_spec_dag_id(Path(path).stem)
    return dag_id


def build_invalid_spec_dag(dag_id: str, path: str, problems: list[SpecProblem]) -> DAG:
    """A DAG that stands in for a spec that does not validate: titled with the file's name, documented and
    described with its problems, and whose only task fails with them."""
    lines = [str(problem) for problem in problems]
    doc = "\n".join([f"# Invalid campaign spec `{path}`", "",
                     "Nothing is synced for this campaign until the spec validates "
                     "(`make lint-specs` checks every spec):", "", *[f"- `{line}`" for line in lines]])
    with DAG(
        dag_id=dag_id,
        dag_display_name=f"Invalid spec: {Path(path).name}",
        description=lines[0][:200],
        doc_md=doc,
        schedule="@daily",
        start_date=_PLACEHOLDER_START,
        catchup=False,
        max_active_runs=1,
        tags=["campaign-sync", "invalid-spec"],
        default_args={"owner": "campaign-sync", "retries": 1},
    ) as dag:
        InvalidSpecOperator(task_id="invalid_spec", problems=lines)
    return dag


def build_dags(collection: SpecCollection) -> dict[str, DAG]:
    """Every DAG of a folder of specs by id: one sync DAG per valid spec, one placeholder per broken file."""
    dags = {dag_id_for(spec): build_campaign_sync_dag(spec) for spec in collection.specs}
    dags.update({triggered_dag_id_for(spec): build_triggered_dag(spec) for spec in collection.specs if spec.trigger})
    for path, problems in collection.problems_by_file().items():
        dag_id = placeholder_dag_id(path, set(dags))
        dags[dag_id] = build_invalid_spec_dag(dag_id, path, problems)
    return dags
