"""The stages of a trigger campaign's triggered DAG that differ from a batch run's (plan, guard, watermark); the
lists, adds, asset events and summary are the batch operators themselves."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from dynamics_campaign_sync.hooks.database import SourceHook
from dynamics_campaign_sync.operators.base import CampaignSyncBaseOperator
from dynamics_campaign_sync.operators.campaign_sync import CampaignSyncSummaryOperator


class _TriggeredOperator(CampaignSyncBaseOperator):
    @cached_property
    def triggered(self) -> Any:
        from dynamics_campaign_sync.qualification.new_activity import NewActivityReader
        from dynamics_campaign_sync.sync.triggered import TriggeredSync

        if self.spec.trigger is None:
            raise ValueError(f"{self.spec.key}: the spec has no trigger section")
        reader = NewActivityReader(SourceHook(self.spec.source.conn_id).engine, self.spec.source, self.spec.trigger)
        return TriggeredSync(self.sync, reader)


class PlanTriggeredRunOperator(_TriggeredOperator):
    """Read the activities past the watermark and plan the adds of the people they belong to (full spec, as of the
    newest activity). Skips the run when nothing is past the watermark (a duplicate or late wake-up)."""

    ui_color = "#fef7e0"

    def execute(self, context: Any) -> dict[str, Any]:
        result = self.triggered.plan(self.campaign_id, self.run_context(context))
        if result.get("nothing_new"):
            raise AirflowSkipException(f"No new activity past the watermark {result['since']}: nothing to do")
        return result | {"dataverse": self.requests_made()}


class TriggeredGuardOperator(_TriggeredOperator):
    """The spec's guard on the triggered plan (``override_guard`` as in batch runs); a dry run writes nothing."""

    ui_color = "#fce8e6"

    def execute(self, context: Any) -> dict[str, Any]:
        run = self.run_context(context)
        if run.dry_run:
            raise AirflowSkipException("Dry run: the plan is recorded; nothing is written")
        self.triggered.approve(run, override=self.param(context, "override_guard"))
        return {"may_write": True}


class AdvanceWatermarkOperator(_TriggeredOperator):
    """After the writes and the asset event: move the watermark past the activities this run evaluated."""

    ui_color = "#e8f0fe"

    def execute(self, context: Any) -> dict[str, Any]:
        result = self.triggered.advance(self.run_context(context))
        if not result["advanced"]:
            raise AirflowSkipException(f"Watermark not moved: {result['why']}")
        return result


class TriggeredSummaryOperator(CampaignSyncSummaryOperator):
    """The batch summary, noted as a triggered run with its latency (oldest activity to membership)."""

    def execute(self, context: Any) -> dict[str, Any]:
        from datetime import UTC, datetime

        summary = super().execute(context)
        advanced = context["ti"].xcom_pull(task_ids="advance_watermark") or {}
        if advanced.get("first_event_time"):
            latency = datetime.now(UTC) - datetime.fromisoformat(advanced["first_event_time"])
            summary["latency_seconds"] = round(latency.total_seconds(), 1)
        if summary.get("note"):
            after = f", {summary['latency_seconds']} s after the activity" if "latency_seconds" in summary else ""
            summary["note"] = f"TRIGGERED{after}: {summary['note']}"
        return summary
