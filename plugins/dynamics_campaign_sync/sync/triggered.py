"""A triggered run of a trigger campaign: the people with new activity since the watermark, evaluated and added
through the same path as a batch run.

    plan     read the trigger's activities past the ledger's watermark (up to ``max_activities_per_run``); evaluate
             the full spec for their people as of the newest activity's time; plan adds (never removes: removals by
             inactivity and demographic changes are the batch schedule's); record the plan (mode ``trigger``) with
             the range it covered
    approve  the spec's guard, then the plan is ``applied`` (a triggered plan never supersedes a batch interval)
    add      :meth:`CampaignSync.apply` — the per-campaign write lock, write-ahead intents, the same event batches
    advance  only after the writes (and the asset event) the watermark moves to the range's end, forward only

A crash anywhere before ``advance`` leaves the watermark where it was: the next attempt or run reads the same
activities again, and their people are members by then (nothing added twice, no second event); an activity is
only ever passed by a run that evaluated it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from dynamics_campaign_sync.ledger.checks import APPLIED, BLOCKED, DRIFT_STATES, MEMBER, TRIGGER
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.member_types import MemberType
from dynamics_campaign_sync.qualification.compiler.evaluate import evaluate
from dynamics_campaign_sync.qualification.new_activity import NewActivity, NewActivityReader, Position
from dynamics_campaign_sync.sync.interval import cron_period_ending
from dynamics_campaign_sync.sync.planner import CurrentMember, DriftFacts, build_plan
from dynamics_campaign_sync.sync.planning import plan_details, with_source_counts
from dynamics_campaign_sync.sync.resolve import resolve
from dynamics_campaign_sync.sync.service import CampaignSync, GuardError, RunContext

log = private_logger(__name__)

#: Activities at exactly the newest activity's time count: windows end exclusive.
_JUST_AFTER = dt.timedelta(microseconds=1)


class TriggeredSync:
    def __init__(self, sync: CampaignSync, reader: NewActivityReader) -> None:
        if sync.spec.trigger is None:
            raise ValueError(f"{sync.key}: the spec has no trigger section")
        self.sync = sync
        self.reader = reader

    @property
    def key(self) -> str:
        return self.sync.key

    @property
    def ledger(self) -> Any:
        return self.sync.ledger

    def since(self, now: dt.datetime) -> Position | None:
        """Where this run reads from: the ledger's watermark (see :meth:`NewActivityReader.since`)."""
        watermark = self.ledger.watermark(self.key)
        return self.reader.since(watermark.position if watermark else None, now)

    def plan(self, campaign_id: str, run: RunContext, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """Plan the adds for the people with new activity; return the plan's counts and the range it covers
        (``{"nothing_new": True}`` when no activity is past the watermark: nothing recorded)."""
        now = now or dt.datetime.now(dt.UTC)
        self.sync.check_campaign_owner(campaign_id, preview_take_over=run.take_over)
        new = self.reader.read(self.since(now))
        if not new.anything:
            log.info("No %s activity past the watermark %s", "/".join(self.reader.trigger.activity_types),
                     new.since)
            return {"nothing_new": True, "since": _jsonable(new.since)}
        as_of = min(new.event_time + _JUST_AFTER, now) if new.event_time else now
        start, end = cron_period_ending(*self.sync.spec.period, as_of)
        run = replace(run, interval_start=start, interval_end=end)
        counts: dict[str, int] = {}
        items: list[tuple[str, str, str, dict[str, Any] | None]] = []
        details: dict[str, Any] = {"trigger": _range(new)}
        if new.people:
            counts, items, extra = self._plan_people(campaign_id, run, new)
            details.update(extra)
        counts.update({"trigger_activities_read": new.rows_read, "trigger_activities": new.matching_rows,
                       "trigger_people": len(new.people)})
        self.ledger.record_plan(
            campaign_key=self.key, run_id=run.run_id, interval_start=start, interval_end=end,
            status="dry_run" if run.dry_run else "planned", counts=counts, items=items, details=details,
            mode=TRIGGER)
        log.info("Triggered plan for %s: %d activities past %s up to %s, %d people with matching activity, "
                 "as of %s: %s", self.key, new.rows_read, new.since, new.until, len(new.people), end.isoformat(),
                 ", ".join(f"{k}={v}" for k, v in counts.items()))
        return {"counts": counts, "trigger": details["trigger"]}

    def _plan_people(self, campaign_id: str, run: RunContext, new: NewActivity) -> tuple[dict, list, dict]:
        """The batch planner over these people alone: adds of who qualifies and the rule lets through."""
        sync = self.sync
        if sync.planning.source_factory is None:
            raise RuntimeError(f"{self.key}: no qualification source configured")
        result = evaluate(sync.spec, sync.planning.source_factory(), run.interval_start, run.interval_end,
                          sync.planning.memberships(), only_people=new.people)
        candidates, unresolved = resolve(sync.client, sync.ledger, result.qualified)
        eligible = sync.apply_qualification_rule([c.source_person_id for c in candidates], run,
                                                 record=not run.dry_run)
        known = self.ledger.membership(campaign_id, [c.dynamics_id for c in candidates if c.dynamics_id])
        members = {p: CurrentMember(p, m.member_type, m.source_person_id, m.added_at)
                   for p, m in known.items() if m.status == MEMBER}
        drifted = {p: CurrentMember(p, m.member_type, m.source_person_id, m.added_at, m.status)
                   for p, m in known.items() if m.status in DRIFT_STATES}
        in_lists: dict[MemberType, set[str]] = {}
        for person_id, member in members.items():
            in_lists.setdefault(MemberType(member.member_type), set()).add(person_id)
        plan = build_plan(
            candidates=candidates, eligible_source_ids=eligible, unresolved=unresolved, our_members=members,
            in_owned_lists=in_lists, in_other_lists={}, removal_policy="never", removal_days=None,
            last_qualified={}, as_of=run.interval_end, drift=DriftFacts(drifted=drifted, may_clear=False),
            drift_policy=sync.spec.drift.removed_in_dynamics,
        )
        # The same counts and details as a batch plan's, but members counted over the whole campaign.
        counts = with_source_counts(replace(plan.counts, current_members=len(self.ledger.members(campaign_id))),
                                    result)
        details = plan_details(result.invalid_rows, unresolved, plan) or {}
        return counts.as_dict(), [(e.person_id, e.member_type, e.action, e.reason) for e in plan.adds], details

    def approve(self, run: RunContext, *, override: bool) -> bool:
        """The spec's guard on a triggered plan; True when the run may write (False: nothing planned)."""
        plan = self.ledger.plan(self.key, run.run_id)
        if plan is None:
            return False
        problems = self.sync.guard_problems(dict(plan.counts))
        if problems and not override:
            self.ledger.update_plan_status(self.key, run.run_id, BLOCKED)
            self.ledger.forget_qualifications(self.key, run.run_id)
            raise GuardError(f"{self.key}: {'; '.join(problems)}. Nothing was written and the watermark stays; "
                             "re-run with the param override_guard=true if this change is intended.")
        for problem in problems:
            log.warning("Guard overridden: %s", problem)
        self.ledger.update_plan_status(self.key, run.run_id, APPLIED)
        return True

    def advance(self, run: RunContext) -> dict[str, Any]:
        """Move the watermark past the activities this run evaluated — only for a plan that was applied (its
        writes done, or nothing to write)."""
        plan = self.ledger.plan(self.key, run.run_id)
        covered = (plan.details or {}).get("trigger") if plan else None
        if run.dry_run or plan is None or covered is None or plan.status != APPLIED:
            return {"advanced": False, "why": "dry run" if run.dry_run else f"plan {plan.status if plan else 'missing'}"}
        position = _position(covered["until"], self.reader.trigger.watermark_kind)
        event_time = dt.datetime.fromisoformat(covered["event_time"]) if covered.get("event_time") else None
        stored = self.ledger.advance_watermark(self.key, position, event_time=event_time, run_id=run.run_id)
        log.info("Watermark of %s: %s (this run evaluated up to %s)", self.key, stored.position, position)
        return {"advanced": True, "watermark": _jsonable(stored.position), "until": covered["until"],
                "first_event_time": covered.get("first_event_time")}


def _range(new: NewActivity) -> dict[str, Any]:
    return {"since": _jsonable(new.since), "until": _jsonable(new.until), "event_time": _jsonable(new.event_time),
            "first_event_time": _jsonable(new.first_event_time)}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _position(value: Any, kind: str) -> Position:
    return dt.datetime.fromisoformat(value) if kind == "timestamp" else int(value)
