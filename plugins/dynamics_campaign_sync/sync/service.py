"""One campaign sync, stage by stage: owned lists, plan, guard, writes, publication, summary.

:class:`CampaignSync` is the facade each Airflow task calls (one method per task, so each operator only maps its
context to a call and the answer to an XCom); each concern lives in a module of its own and is run and tested
without Airflow: :mod:`.ownership`, :mod:`.owned_lists`, :mod:`.planning` (with :mod:`.resolve`, :mod:`.drift`
and the pure :mod:`.planner`), :mod:`.guard`, :mod:`.changes` (with :mod:`.new_leads`), :mod:`.publication`,
:mod:`.summary` and :mod:`.housekeeping`. Stages hand over through the ledger, never through large XComs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.ledger.checks import Action, PlanStatus
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.plan_counts import PlanCounts
from dynamics_campaign_sync.spec import CampaignSpec
from dynamics_campaign_sync.sync import summary as summaries
from dynamics_campaign_sync.sync.changes import MembershipChanges
from dynamics_campaign_sync.sync.guard import Guard, GuardError
from dynamics_campaign_sync.sync.housekeeping import HISTORY_KEPT_DAYS, thin_history
from dynamics_campaign_sync.sync.membership_writer import WriteOutcome
from dynamics_campaign_sync.sync.new_leads import create_missing_leads
from dynamics_campaign_sync.sync.owned_lists import OwnedLists
from dynamics_campaign_sync.sync.ownership import CampaignOwnership
from dynamics_campaign_sync.sync.planning import Planning
from dynamics_campaign_sync.sync.publication import Publication
from dynamics_campaign_sync.sync.run import PlanNotApprovedError, RunContext
from dynamics_campaign_sync.sync.write_lock import DEFAULT_LOCK_WAIT, CampaignWriteLock

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import EventBatch, Ledger

__all__ = ["HISTORY_KEPT_DAYS", "CampaignSync", "GuardError", "PlanNotApprovedError", "RunContext"]

log = private_logger(__name__)  # people's emails are masked in task logs
#: Words a run's note: ``(plan status, interval start, interval end, summary) -> note`` (see ``run_notes``).
NoteWriter = Callable[[str, dt.datetime, dt.datetime, dict[str, Any]], str]


class CampaignSync:
    def __init__(self, spec: CampaignSpec, *, client: DataverseClient, ledger: Ledger,
                 source_factory: Callable[[], Any] | None = None,
                 lock_wait: dt.timedelta = DEFAULT_LOCK_WAIT) -> None:
        self.spec = spec
        self.client = client
        self.ledger = ledger
        self.write_lock = CampaignWriteLock(ledger, spec.key, wait=lock_wait)
        self.ownership = CampaignOwnership(ledger, spec.key)
        self.lists = OwnedLists(client, ledger, self.member_types)
        self.planning = Planning(spec, client=client, ledger=ledger, lists=self.lists, source_factory=source_factory)
        self.guarding = Guard(spec, ledger)
        self.changes = MembershipChanges(spec.key, client=client, ledger=ledger, lists=self.lists)
        self.publication = Publication(ledger, spec.key)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def member_types(self) -> list[MemberType]:
        return [MemberType(m) for m in self.spec.member_types]

    # -- campaign owner and owned lists (the ensure_lists task) ---------------------------------------------

    def claim_campaign(self, campaign_id: str, run: RunContext) -> None:
        self.ownership.claim(campaign_id, run)

    def check_campaign_owner(self, campaign_id: str, *, preview_take_over: bool = False) -> None:
        self.ownership.check(campaign_id, preview_take_over=preview_take_over)

    def prepare_lists(self, campaign_id: str, run: RunContext) -> dict[str, Any]:
        """Claim the campaign and make sure of its owned lists; a dry run only checks the owner and looks."""
        if run.dry_run:
            self.check_campaign_owner(campaign_id, preview_take_over=run.take_over)
            self.lists.log_known(campaign_id)
            return {"dry_run": True}
        self.claim_campaign(campaign_id, run)
        return self.ensure_lists(campaign_id, run)

    def ensure_lists(self, campaign_id: str, run: RunContext) -> dict[str, Any]:
        """Get or create, verify and remember one owned list per member type; report repairs loudly."""
        if run.dry_run:
            raise PlanNotApprovedError(f"{self.key}: run {run.run_id} is a dry run; owned lists are not created "
                                       "or repaired")
        return self.lists.ensure(campaign_id)

    # -- plan and guard ---------------------------------------------------------------------------------------

    def plan(self, campaign_id: str, run: RunContext) -> dict[str, Any]:
        """Refused for a campaign another spec owns (a dry run may preview a take-over); see :meth:`Planning.plan`."""
        self.check_campaign_owner(campaign_id, preview_take_over=run.take_over)
        return self.planning.plan(campaign_id, run)

    def apply_qualification_rule(self, source_ids: list[str], run: RunContext, *, record: bool) -> set[str]:
        return self.planning.apply_qualification_rule(source_ids, run, record=record)

    def guard(self, run: RunContext, *, override: bool) -> bool:
        return self.guarding.check(run, override=override)

    def preview_guard(self, run: RunContext) -> list[str]:
        return self.guarding.preview(run)

    def check_approved(self, run: RunContext) -> None:
        self.guarding.check_approved(run)

    def guard_problems(self, counts: PlanCounts | Mapping[str, int]) -> list[str]:
        return self.guarding.problems(counts)

    # -- writes -----------------------------------------------------------------------------------------------

    def apply(self, action: Action | str, campaign_id: str, run: RunContext) -> WriteOutcome:
        """Send the run's planned adds or removes — only for a plan the guard approved, of a campaign this spec
        owns (ensure_lists claimed it); anything else raises before any request."""
        self.check_campaign_owner(campaign_id)
        self.check_approved(run)
        return self.changes.apply(Action(action), campaign_id, run, self.write_lock)

    def _create_missing_leads(self, people: dict[str, dict[str, Any]], run_id: str,
                              outcome: WriteOutcome) -> dict[str, dict[str, Any]]:
        return create_missing_leads(self.client, self.ledger, self.key, people, run_id, outcome)

    # -- publication ------------------------------------------------------------------------------------------

    def batches_to_publish(self, action: Action | str, run_id: str, *,
                           delivered_since: Callable[[dt.datetime], set[str]],
                           republish: bool = False) -> list[EventBatch]:
        return self.publication.batches_to_publish(Action(action), run_id, delivered_since=delivered_since,
                                                   republish=republish)

    def publish(self, action: Action, run_id: str, *, delivered_since: Callable[[dt.datetime], set[str]],
                republish: bool = False) -> dict[str, Any] | None:
        """The extra of the asset event to emit now, or None when there is nothing (left) to emit."""
        batches = self.batches_to_publish(action, run_id, delivered_since=delivered_since, republish=republish)
        return self.publication.event_extra(action, run_id, batches) if batches else None

    def confirm_published(self, batch_ids: list[str]) -> None:
        self.publication.confirm_published(batch_ids)

    # -- summary and housekeeping -----------------------------------------------------------------------------

    def summarize(self, run_id: str, stages: summaries.Stages, *, note: NoteWriter) -> dict[str, Any]:
        """The run's summary table (and note); confirms the published batches, stores the run's results with
        its plan and, for an applied plan, thins the qualification history."""
        plan = self.ledger.plan(self.key, run_id)
        summary = summaries.summary_table(self.key, plan, stages)
        if plan:
            summary["note"] = note(plan.status, plan.interval_start, plan.interval_end, summary)
        if published := summaries.published_batches(stages):
            self.confirm_published(published)
        if plan:
            self.ledger.update_plan_status(self.key, run_id, plan.status, summaries.run_results(summary))
            if plan.status == PlanStatus.APPLIED:
                self.thin_history(plan.interval_end)
        summaries.log_summary(summary, plan, self.ledger.failures(self.key, run_id))
        return summary

    def thin_history(self, as_of: dt.datetime) -> int:
        return thin_history(self.spec, self.ledger, as_of)
