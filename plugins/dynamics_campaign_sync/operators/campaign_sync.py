"""The stages of a campaign sync DAG, each a thin operator over :class:`CampaignSync`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowSkipException

from dynamics_campaign_sync.log_privacy import mask_emails
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

    def execute(self, context: Any) -> dict[str, Any]:
        run = self.run_context(context)
        if run.dry_run:
            self.sync.check_campaign_owner(self.campaign_id, preview_take_over=run.take_over)
        else:
            self.sync.claim_campaign(self.campaign_id, run)
        if run.dry_run:
            existing = {mt: self.ledger.owned_list(self.campaign_id, mt) for mt in self.spec.member_types}
            self.log.info("Dry run: owned lists are not created or repaired; known: %s",
                          {mt: o.list_id if o else None for mt, o in existing.items()})
            return {"dry_run": True}
        report = self.sync.ensure_lists(self.campaign_id, run)
        for member_type, entry in report.items():
            self.log.info("Owned %s list %s%s", member_type, entry["list_id"], " (created)" if entry["created"] else "")
        return report | {"dataverse": self.requests_made()}


class PlanCampaignSyncOperator(CampaignSyncBaseOperator):
    """Qualify people as of the run's data interval and plan adds and removes against the ledger.

    The plan (every person, with the rules that qualified them) is stored in the ledger; the task log
    and its XCom show counts and a preview, so a dry run's plan is visible in the UI.
    """

    ui_color = "#fef7e0"

    def execute(self, context: Any) -> dict[str, Any]:
        run = self.run_context(context)
        self.log.info("Evaluating %s for the interval %s – %s", self.spec.key,
                      run.interval_start.isoformat(), run.interval_end.isoformat())
        result = self.sync.plan(self.campaign_id, run)
        return result | {"dataverse": self.requests_made()}


class CampaignSyncGuardOperator(CampaignSyncBaseOperator):
    """Stops the run before any write when the plan breaks the spec's limits (unless ``override_guard``),
    and skips the writes of an interval older than one already applied (backfill safety)."""

    ui_color = "#fce8e6"

    def execute(self, context: Any) -> dict[str, Any]:
        run = self.run_context(context)
        if run.dry_run:
            plan = self.ledger.plan(self.spec.key, run.run_id)
            problems = self.sync.guard_problems(dict(plan.counts)) if plan else []
            for problem in problems:
                self.log.warning("Dry run: the guard would stop this run: %s", problem)
            raise AirflowSkipException("Dry run: the plan is recorded; nothing is written")
        may_write = self.sync.guard(run, override=self.param(context, "override_guard"))
        if not may_write:
            raise AirflowSkipException("Superseded: a newer interval is already applied; nothing is written")
        return {"may_write": True}


class _MembershipChangeOperator(CampaignSyncBaseOperator):
    action: str

    def execute(self, context: Any) -> dict[str, Any]:
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

    action = "add"
    ui_color = "#e6f4ea"


class RemoveFromDynamicsCampaignOperator(_MembershipChangeOperator):
    """Marketo's "Remove from Microsoft Campaign": removes only people that this product added
    (in the ledger as added and in our owned list); anyone else in the campaign is left alone."""

    action = "remove"
    ui_color = "#fde7e9"


class PublishMembershipEventsOperator(CampaignSyncBaseOperator):
    """Emits one asset event ("added" or "removed") when the run changed someone, with small extras
    pointing at the ledger's event batches. Skips — and so emits nothing — when nobody changed."""

    ui_color = "#f3e8fd"

    def __init__(self, *, action: str, asset: Asset, **kwargs: Any) -> None:
        # The asset is an inlet too: its past events in Airflow tell a re-run what was already emitted.
        super().__init__(outlets=[asset], inlets=[asset], **kwargs)
        if action not in {"add", "remove"}:
            raise ValueError(f"{self.task_id}: action must be 'add' or 'remove', got {action!r}")
        self.action = action

    def execute(self, context: Any) -> dict[str, Any]:
        asset = self.outlets[0]

        def delivered_since(since: datetime) -> set[str]:
            # Airflow's own record of the asset's events is the truth about what downstream DAGs were given.
            events = context["inlet_events"][asset].after((since - CLOCK_SKEW).isoformat())
            return {batch for event in events for batch in (event.extra or {}).get("batch_ids", [])}

        batches = self.sync.batches_to_publish(self.action, context["run_id"], delivered_since=delivered_since,
                                               republish=self.param(context, "republish_events"))
        if not batches:
            raise AirflowSkipException(f"Nobody was {self.action}ed, or the asset event was already emitted: "
                                       "no asset event")
        extra = {
            "campaign_key": self.spec.key,
            "campaign_id": batches[-1].campaign_id,
            "action": self.action,
            "count": sum(b.count for b in batches),
            "run_id": context["run_id"],
            "batch_ids": [b.batch_id for b in batches],
        }
        context["outlet_events"][asset].extra = extra
        self.log.info("Asset event for %d %sed people (batches %s)", extra["count"], self.action, extra["batch_ids"])
        return extra


class CampaignSyncSummaryOperator(CampaignSyncBaseOperator):
    """One table at the end of the run: qualified, added, removed, not ours, failures, invalid source rows
    (by kind; the task log names example ids), requests made."""

    ui_color = "#f1f3f4"

    def __init__(self, *, stage_task_ids: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage_task_ids = stage_task_ids

    def execute(self, context: Any) -> dict[str, Any]:
        from dynamics_campaign_sync.qualification.invalid_rows import COUNT_NAME as INVALID_ROWS
        from dynamics_campaign_sync.qualification.invalid_rows import kinds_in_counts

        ti = context["ti"]
        stages = {name: ti.xcom_pull(task_ids=task_id) or {} for name, task_id in self.stage_task_ids.items()}
        plan = self.ledger.plan(self.spec.key, context["run_id"])
        counts = dict(plan.counts) if plan else {}
        summary = {
            "campaign_key": self.spec.key,
            "status": plan.status if plan else "no plan",
            "interval_end": plan.interval_end.isoformat() if plan else None,
            "qualified": counts.get("qualified", 0),
            "planned_adds": counts.get("to_add", 0),
            "planned_removes": counts.get("to_remove", 0),
            "added": stages.get("add", {}).get("succeeded", 0),
            "removed": stages.get("remove", {}).get("succeeded", 0),
            "failed": stages.get("add", {}).get("failed", 0) + stages.get("remove", {}).get("failed", 0),
            "not_ours": counts.get("not_ours", 0),
            "already_gone": counts.get("already_gone", 0),
            # Drift noticed this run (Dynamics-side changes to our lists), and what followed from it.
            "deleted_in_dynamics": counts.get("deleted_in_dynamics", 0),
            "removed_in_dynamics": counts.get("removed_in_dynamics", 0),
            "restored": counts.get("restored", 0),
            "drift_cleared": counts.get("drift_cleared", 0),
            "unresolved": counts.get("unresolved", 0),
            "invalid_rows": counts.get(INVALID_ROWS, 0),
            "invalid_rows_by_kind": kinds_in_counts(counts),
            "requests": sum(s.get("dataverse", {}).get("requests", 0) for s in stages.values()),
            "throttle_wait_seconds": round(sum(s.get("dataverse", {}).get("throttle_wait_seconds", 0)
                                               for s in stages.values()), 1),
        }
        if plan:
            summary["note"] = self.run_note(plan, summary)
        published = [batch for name in ("published_added", "published_removed")
                     for batch in stages.get(name, {}).get("batch_ids", [])]
        if published:  # their publish tasks succeeded: Airflow holds those asset events
            self.sync.confirm_published(published)
        if plan:
            self.ledger.update_plan_status(self.spec.key, context["run_id"], plan.status, {
                "added": summary["added"], "removed": summary["removed"], "failed": summary["failed"],
                "requests": summary["requests"]})
            if plan.status == "applied":
                self.sync.thin_history(plan.interval_end)
        width = max(len(k) for k in summary)
        self.log.info("Campaign sync summary\n%s", "\n".join(f"  {k:<{width}}  {v}" for k, v in summary.items()))
        for kind, entry in (plan.details.get("invalid_rows", {}) if plan else {}).items():
            self.log.warning("invalid source rows left out: %s: %d (e.g. %s)", kind, entry["count"],
                             ", ".join(entry["examples"]) or "no id to show")
        failures = self.ledger.failures(self.spec.key, context["run_id"])
        for person, error in list(failures.items())[:20]:
            self.log.warning("failed: %s: %s", person, mask_emails(str(error)))
        return summary

    @staticmethod
    def run_note(plan: Any, summary: dict[str, Any]) -> str:
        """The run's note in the Airflow UI (set by the run-notes listener when the run finishes)."""
        from dynamics_campaign_sync.run_notes import run_note

        return run_note(plan.status, plan.interval_start, plan.interval_end, summary)
