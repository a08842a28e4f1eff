"""The write stages: send a run's planned adds or removes to the campaign's owned lists, only for a plan the
guard approved, under the campaign's write lock, after healing what a crashed attempt left."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.ledger.checks import Action
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.sync.membership_writer import MembershipWriter, WriteOutcome
from dynamics_campaign_sync.sync.new_leads import create_missing_leads
from dynamics_campaign_sync.sync.owned_lists import OwnedLists
from dynamics_campaign_sync.sync.planner import NEW_PERSON_PREFIX
from dynamics_campaign_sync.sync.run import RunContext
from dynamics_campaign_sync.sync.write_lock import CampaignWriteLock

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger, Membership, PlanItem

log = private_logger(__name__)  # people's emails are masked in task logs
#: Failed people named in the task log (all of them are in the ledger).
FAILURES_SHOWN = 20


class MembershipChanges:
    def __init__(self, campaign_key: str, *, client: DataverseClient, ledger: Ledger, lists: OwnedLists) -> None:
        self.key = campaign_key
        self.client = client
        self.ledger = ledger
        self.lists = lists

    def apply(self, action: Action, campaign_id: str, run: RunContext, write_lock: CampaignWriteLock) -> WriteOutcome:
        """Heal what a crashed attempt left, then send this run's planned adds or removes (the caller checked
        that the spec owns the campaign and that the guard approved the plan)."""
        with write_lock.held(run.run_id) as keep_alive:
            return self._apply_locked(Action(action), campaign_id, run, keep_alive)

    def _apply_locked(self, action: Action, campaign_id: str, run: RunContext,
                      keep_alive: Callable[[], None]) -> WriteOutcome:
        writer = MembershipWriter(self.client, self.ledger, campaign_key=self.key, campaign_id=campaign_id,
                                  after_chunk=keep_alive)
        outcome = WriteOutcome()
        writer.heal_pending(outcome)
        items = self.ledger.plan_items(self.key, run.run_id, action=action)
        done = self.ledger.membership(campaign_id, [i.person_id for i in items
                                                    if not i.person_id.startswith(NEW_PERSON_PREFIX)])
        plan = self.ledger.plan(self.key, run.run_id)
        if plan is None:  # check_approved found it a moment ago; only a deleted ledger row gets here
            raise ValueError(f"{self.key}: run {run.run_id} has no plan")
        planned_at = plan.created_at
        _log_overlapping_changes(items, done, action, run.run_id, planned_at)
        owned = self.lists.ids(campaign_id)
        for member_type in self.lists.member_types:
            people = {i.person_id: dict(i.reason or {}) for i in items if i.member_type == member_type
                      and not _already_done(done.get(i.person_id), action, run.run_id, planned_at)}
            if action is Action.ADD and member_type is MemberType.LEAD:
                people = create_missing_leads(self.client, self.ledger, self.key, people, run.run_id, outcome)
            if not people:
                continue
            list_id = owned.get(member_type)
            if list_id is None:
                raise ValueError(f"{self.key}: no owned {member_type.value} list for campaign {campaign_id}; "
                                 "the ensure_lists task must run first")
            writer.write(action=action, list_id=list_id, member_type=member_type, run_id=run.run_id,
                         interval=run.interval, people=people, outcome=outcome)
        for person, error in list(outcome.failed.items())[:FAILURES_SHOWN]:
            log.warning("Could not %s %s: %s", action, person, error)
        return outcome


def _already_done(membership: Membership | None, action: Action, run_id: str, planned_at: dt.datetime) -> bool:
    """Skip people already in the state the plan wants: changed by an earlier attempt of this run, or by another
    run that wrote after this plan was made (an overlapping run, whose plan came from the same ledger state).
    A ledger member missing from a re-created owned list is not skipped: the plan adds them back."""
    if action is Action.ADD:
        return membership is not None and membership.is_member and (
            membership.added_by_run == run_id or (membership.added_at or planned_at) > planned_at)
    return membership is None or (not membership.is_member and (
        membership.removed_by_run == run_id or (membership.removed_at or planned_at) > planned_at))


def _log_overlapping_changes(items: Sequence[PlanItem], done: dict[str, Membership], action: Action, run_id: str,
                             planned_at: dt.datetime) -> None:
    """Say, in words, when another run already made some of this plan's changes (no error: nothing to do)."""
    by_other = [(item.person_id, done[item.person_id]) for item in items if item.person_id in done
                and _already_done(done[item.person_id], action, run_id, planned_at)
                and _changed_by(done[item.person_id], action) not in (run_id, None)]
    if by_other:
        runs = sorted({_changed_by(m, action) or "" for _, m in by_other})
        log.warning("%d people of this plan were already %s by run(s) %s, which wrote to this campaign after this "
                    "plan was made: they are skipped, nothing to do for them", len(by_other),
                    "added" if action is Action.ADD else "removed", ", ".join(runs))


def _changed_by(membership: Membership, action: Action) -> str | None:
    return membership.added_by_run if action is Action.ADD else membership.removed_by_run
