"""The stages of a campaign sync DAG, each a thin operator over :class:`CampaignSync`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Context
from airflow.sdk.exceptions import AirflowSkipException

from dynamics_campaign_sync.ledger.checks import Action
from dynamics_campaign_sync.operators.base import CampaignSyncBaseOperator

# The ledger, the service and the engine they use are imported inside ``execute``: a DAG file builds these
# operators on every parse and must not load SQLAlchemy's schema, pandas or the Dataverse client for it.

#: Margin when asking Airflow for asset events since a time our clock took (the metadata DB stamps them).
CLOCK_SKEW = timedelta(minutes=5)


class EnsureOwnedListsOperator(CampaignSyncBaseOperator):
    """Claim the campaign for this spec (one spec per campaign), then get or create its owned static lists,
    re-verify them and repair them if someone deleted or detached them in Dynamics (reported loudly).
    A dry run only looks."""

    ui_color = "#e8f0fe"

    def execute(self, context: Context) -> dict[str, Any]:
        report = self.sync.prepare_lists(self.campaign_id, self.run_context(context))
        return report if report.get("dry_run") else report | {"dataverse": self.requests_made()}


class PlanCampaignSyncOperator(CampaignSyncBaseOperator):
    """Qualify people as of the run's data interval and plan adds and removes against the ledger.

    The plan (every person, with the rules that qualified them) is stored in the ledger; the task log
    and its XCom show counts and a preview, so a dry run's plan is visible in the UI.
    """

    ui_color = "#fef7e0"

    def execute(self, context: Context) -> dict[str, Any]:
        return self.sync.plan(self.campaign_id, self.run_context(context)) | {"dataverse": self.requests_made()}


class CampaignSyncGuardOperator(CampaignSyncBaseOperator):
    """Stops the run before any write when the plan breaks the spec's limits (unless ``override_guard``),
    and skips the writes of an interval older than one already applied (backfill safety)."""

    ui_color = "#fce8e6"

    def execute(self, context: Context) -> dict[str, Any]:
        run = self.run_context(context)
        if run.dry_run:
            self.sync.preview_guard(run)
            raise AirflowSkipException("Dry run: the plan is recorded; nothing is written")
        if not self.sync.guard(run, override=self.param(context, "override_guard")):
            raise AirflowSkipException("Superseded: a newer interval is already applied; nothing is written")
        return {"may_write": True}


class _MembershipChangeOperator(CampaignSyncBaseOperator):
    action: Action

    def execute(self, context: Context) -> dict[str, Any]:
        from dynamics_campaign_sync.sync.service import PlanNotApprovedError

        try:
            outcome = self.sync.apply(self.action, self.campaign_id, self.run_context(context))
        except PlanNotApprovedError as refused:
            raise AirflowSkipException(str(refused)) from None
        self.log.info("%s: %d people changed, %d failed, %d healed from an earlier attempt", self.action,
                      outcome.succeeded, len(outcome.failed), outcome.healed)
        return outcome.as_dict() | {"dataverse": self.requests_made()}


class AddToDynamicsCampaignOperator(_MembershipChangeOperator):
    """Marketo's "Add to Microsoft Campaign": adds the run's planned people to the owned lists.

    Chunked ``AddListMembersList`` calls, each behind a write-ahead intent in the ledger (a crash is
    healed by the next attempt); people only known by email are matched or created as leads first;
    a person Dynamics rejects is recorded as a failure and the others go on.
    """

    action = Action.ADD
    ui_color = "#e6f4ea"


class RemoveFromDynamicsCampaignOperator(_MembershipChangeOperator):
    """Marketo's "Remove from Microsoft Campaign": removes only people that this product added
    (in the ledger as added and in our owned list); anyone else in the campaign is left alone."""

    action = Action.REMOVE
    ui_color = "#fde7e9"


class PublishMembershipEventsOperator(CampaignSyncBaseOperator):
    """Emits one asset event ("added" or "removed") when the run changed someone, with small extras
    pointing at the ledger's event batches. Skips — and so emits nothing — when nobody changed."""

    ui_color = "#f3e8fd"

    def __init__(self, *, action: str, asset: Asset, **kwargs: Any) -> None:
        # The asset is an inlet too: its past events in Airflow tell a re-run what was already emitted.
        super().__init__(outlets=[asset], inlets=[asset], **kwargs)
        if action not in set(Action):
            raise ValueError(f"{self.task_id}: action must be 'add' or 'remove', got {action!r}")
        self.action = Action(action)

    def execute(self, context: Context) -> dict[str, Any]:
        asset = self.outlets[0]

        def delivered_since(since: datetime) -> set[str]:
            # Airflow's own record of the asset's events is the truth about what downstream DAGs were given.
            events = context["inlet_events"][asset].after((since - CLOCK_SKEW).isoformat())
            named = ((event.extra or {}).get("batch_ids") for event in events)
            return {str(batch) for batch_ids in named if isinstance(batch_ids, list) for batch in batch_ids}

        extra = self.sync.publish(self.action, context["run_id"], delivered_since=delivered_since,
                                  republish=self.param(context, "republish_events"))
        if extra is None:
            raise AirflowSkipException(f"Nobody was {self.action}ed, or the asset event was already emitted: "
                                       "no asset event")
        context["outlet_events"][asset].extra = extra
        return extra


class CampaignSyncSummaryOperator(CampaignSyncBaseOperator):
    """One table at the end of the run: qualified, added, removed, not ours, failures, invalid source rows
    (by kind; the task log names example ids), requests made."""

    ui_color = "#f1f3f4"

    def __init__(self, *, stage_task_ids: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage_task_ids = stage_task_ids

    def execute(self, context: Context) -> dict[str, Any]:
        from dynamics_campaign_sync.run_notes import run_note

        ti = context["ti"]
        stages = {name: ti.xcom_pull(task_ids=task_id) or {} for name, task_id in self.stage_task_ids.items()}
        return self.sync.summarize(context["run_id"], stages, note=run_note)
