"""The sync plan: who to add to and who to remove from a campaign's owned lists, and who we leave alone.

Pure set arithmetic over what the other layers found, so every rule is testable on its own:

* add — qualified people the qualification rule lets through (once / every time / every N days) who
  are not yet in our owned list;
* remove — people *we* added (ledger) who are still in our owned list and stopped qualifying, as the
  removal policy says (mirror, never, after N days unqualified);
* not ours — people in the campaign who do not qualify but were put there by someone else (another
  list, or added to our list by hand): never removed, only counted;
* drift — people we added who are no longer in our owned list: ``deleted_in_dynamics`` when their
  lead/contact no longer exists (never written to again), else ``removed_in_dynamics`` (someone took them
  out). The spec's ``drift.removed_in_dynamics`` says what follows: ``respect`` (the default) leaves them
  out until a run sees them not qualifying — that clears the state, and qualifying again is a normal add —
  while ``restore`` re-adds them while they qualify.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynamics_campaign_sync.dataverse.models import MemberType
from dynamics_campaign_sync.ledger.checks import DELETED_IN_DYNAMICS, MEMBER, REMOVED_IN_DYNAMICS, Action
from dynamics_campaign_sync.plan_counts import PlanCounts

#: Plan items for people who are not in Dynamics yet carry this prefix and the source person id.
NEW_PERSON_PREFIX = "new:"
#: ``drift.removed_in_dynamics`` options.
RESPECT, RESTORE = "respect", "restore"


@dataclass(frozen=True)
class Candidate:
    """A qualified person, resolved (or not) to a Dynamics id."""

    source_person_id: str
    member_type: MemberType
    dynamics_id: str | None
    email: str | None
    reasons: Mapping[str, Any]

    @property
    def plan_id(self) -> str:
        """The id the plan uses: the Dynamics id, or ``new:<source id>`` for a lead still to be created."""
        return self.dynamics_id or f"{NEW_PERSON_PREFIX}{self.source_person_id}"


@dataclass(frozen=True)
class CurrentMember:
    """Someone we added (from the ledger); ``status`` is ``member`` or, for drifted people, their drift state."""

    person_id: str
    member_type: MemberType
    source_person_id: str | None
    added_at: dt.datetime | None
    status: str = MEMBER


@dataclass(frozen=True)
class DriftFacts:
    """What the plan stage learnt about Dynamics-side changes to our owned lists, besides their members."""

    #: Of our members missing from our owned list (:func:`missing_members`), those whose record is gone.
    deleted: frozenset[str] = frozenset()
    #: People earlier runs recorded in a drift state, by id.
    drifted: Mapping[str, CurrentMember] = field(default_factory=dict)
    #: People in a write a crashed attempt left pending: their list membership is healed before any new write.
    in_flight: frozenset[str] = frozenset()
    #: Member type → when our current owned list was recorded: people added before it was lost with the old list
    #: (deleted and re-created), not taken out by someone — they are re-added as before, not drift.
    list_since: Mapping[MemberType, dt.datetime] = field(default_factory=dict)
    #: False for a run older than the newest applied interval: old qualification must not clear today's drift.
    may_clear: bool = True


@dataclass(frozen=True)
class PlanEntry:
    person_id: str
    member_type: MemberType
    #: An :class:`Action` for adds and removes; the drift state, ``already_gone`` or ``cleared`` otherwise.
    action: str
    reason: dict[str, Any]


@dataclass
class SyncPlan:
    adds: list[PlanEntry] = field(default_factory=list)
    removes: list[PlanEntry] = field(default_factory=list)
    counts: PlanCounts = field(default_factory=PlanCounts)
    #: Drift noticed this run (``action`` is the drift state) — recorded in the ledger, never sent to Dynamics.
    drift: list[PlanEntry] = field(default_factory=list)
    #: ``removed_in_dynamics`` people seen not qualifying (``action`` ``cleared``): their drift state ends.
    cleared: list[PlanEntry] = field(default_factory=list)
    #: Members of ours no longer in our list in Dynamics (``already_gone``): named on the dashboard.
    gone: list[PlanEntry] = field(default_factory=list)

    @property
    def entries(self) -> list[PlanEntry]:
        return self.adds + self.removes


def removal_due(policy: str, days: int | None, member: CurrentMember,
                last_qualified: dt.datetime | None, as_of: dt.datetime) -> bool:
    """Whether a member who no longer qualifies is removed now under the removal policy."""
    if policy == "never":
        return False
    if policy == "mirror":
        return True
    since = last_qualified or member.added_at
    return since is None or since <= as_of - dt.timedelta(days=days or 0)


def missing_members(our_members: Mapping[str, CurrentMember], in_owned_lists: Mapping[MemberType, set[str]],
                    drift: DriftFacts) -> dict[str, CurrentMember]:
    """Our members who are not in our owned list of their type although they should be: candidates for drift.

    Left out: member types whose owned list was not read, people whose write is still in flight, and people
    added before the current owned list existed (the old list was deleted, its members went with it)."""
    missing = {}
    for person_id, member in our_members.items():
        owned = in_owned_lists.get(member.member_type)
        if owned is None or person_id in owned or person_id in drift.in_flight:
            continue
        since = drift.list_since.get(member.member_type)
        if since is not None and member.added_at is not None and member.added_at < since:
            continue
        missing[person_id] = member
    return missing


def build_plan(
    *,
    candidates: Iterable[Candidate],
    eligible_source_ids: set[str],
    unresolved: Mapping[str, str],
    our_members: Mapping[str, CurrentMember],
    in_owned_lists: Mapping[MemberType, set[str]],
    in_other_lists: Mapping[MemberType, set[str]],
    removal_policy: str,
    removal_days: int | None,
    last_qualified: Mapping[str, dt.datetime],
    as_of: dt.datetime,
    drift: DriftFacts | None = None,
    drift_policy: str = RESPECT,
) -> SyncPlan:
    """Compute the plan. ``in_owned_lists``/``in_other_lists`` map member type → Dynamics ids in the
    campaign's owned list / its other lists; ``last_qualified`` is keyed by source person id;
    ``unresolved`` holds qualified people that cannot be found or created in Dynamics (id → why);
    ``drift`` what the plan stage found out about drift, ``drift_policy`` the spec's ``removed_in_dynamics``."""
    plan = SyncPlan()
    drift = drift or DriftFacts()
    candidates = list(candidates)
    qualified_dynamics_ids = {c.dynamics_id for c in candidates if c.dynamics_id}
    qualified_source_ids = {c.source_person_id for c in candidates}

    def qualifies(member: CurrentMember) -> bool:
        return member.person_id in qualified_dynamics_ids or member.source_person_id in qualified_source_ids

    missing = missing_members(our_members, in_owned_lists, drift)
    plan.drift = [_drift_entry(member, member.person_id in drift.deleted, drift_policy)
                  for member in missing.values()]
    deleted = {e.person_id for e in plan.drift if e.action == DELETED_IN_DYNAMICS}
    deleted |= {p for p, m in drift.drifted.items() if m.status == DELETED_IN_DYNAMICS}
    taken_out = {e.person_id for e in plan.drift if e.action == REMOVED_IN_DYNAMICS}
    taken_out |= {p for p, m in drift.drifted.items() if m.status == REMOVED_IN_DYNAMICS}

    restored = 0
    for candidate in candidates:
        if candidate.dynamics_id in deleted:
            continue  # no request about a record that no longer exists
        if candidate.dynamics_id and candidate.dynamics_id in in_owned_lists.get(candidate.member_type, set()):
            continue
        reason = {**candidate.reasons, "source_person_id": candidate.source_person_id}
        if candidate.email:
            reason["email"] = candidate.email
        if candidate.dynamics_id in taken_out:
            if drift_policy == RESTORE:
                reason["rule"] = "drift restore: taken out of our list in Dynamics by someone else, still qualifies"
                plan.adds.append(PlanEntry(candidate.plan_id, candidate.member_type, Action.ADD, reason))
                restored += 1
            continue
        if candidate.source_person_id not in eligible_source_ids:
            continue
        plan.adds.append(PlanEntry(candidate.plan_id, candidate.member_type, Action.ADD, reason))

    already_gone = 0
    for person_id, member in our_members.items():
        in_our_list = person_id in in_owned_lists.get(member.member_type, set())
        if not in_our_list and person_id not in drift.in_flight:
            already_gone += 1
            plan.gone.append(PlanEntry(person_id, member.member_type, "already_gone",
                                       {"source_person_id": member.source_person_id}))
        if not in_our_list or qualifies(member):
            continue  # not in our list (drift, or our list was re-created without them): nothing to remove
        last = last_qualified.get(member.source_person_id or "")
        if not removal_due(removal_policy, removal_days, member, last, as_of):
            continue
        reason = {"rule": f"removal policy {removal_policy}", "source_person_id": member.source_person_id,
                  "last_qualified": last.isoformat() if last else None}
        plan.removes.append(PlanEntry(person_id, member.member_type, Action.REMOVE, reason))

    if drift.may_clear:
        plan.cleared = [
            PlanEntry(p, m.member_type, "cleared", {"drift_cleared": f"stopped qualifying as of {as_of.isoformat()}"})
            for p, m in drift.drifted.items() if m.status == REMOVED_IN_DYNAMICS and not qualifies(m)]

    not_ours = set()
    for member_type in set(in_owned_lists) | set(in_other_lists):
        in_campaign = in_owned_lists.get(member_type, set()) | in_other_lists.get(member_type, set())
        not_ours |= {p for p in in_campaign if p not in our_members and p not in qualified_dynamics_ids}

    plan.counts = PlanCounts(
        qualified=len(candidates),
        eligible=len(eligible_source_ids & qualified_source_ids),
        to_add=len(plan.adds),
        to_create=sum(e.person_id.startswith(NEW_PERSON_PREFIX) for e in plan.adds),
        to_remove=len(plan.removes),
        current_members=len(our_members),
        not_ours=len(not_ours),
        already_gone=already_gone,
        unresolved=len(unresolved),
        deleted_in_dynamics=sum(e.action == DELETED_IN_DYNAMICS for e in plan.drift),
        removed_in_dynamics=sum(e.action == REMOVED_IN_DYNAMICS for e in plan.drift),
        restored=restored,
        drift_cleared=len(plan.cleared),
    )
    return plan


def _drift_entry(member: CurrentMember, deleted: bool, policy: str) -> PlanEntry:
    """The drift noticed for one member, with why in words (shown on the dashboard)."""
    kind = member.member_type
    if deleted:
        why = f"the {kind} was deleted in Dynamics (it left our owned list with it); no more writes for it"
        return PlanEntry(member.person_id, kind, DELETED_IN_DYNAMICS,
                         {"drift": why, "source_person_id": member.source_person_id})
    why = (f"taken out of our owned {kind} list in Dynamics by someone else (the {kind} still exists); "
           + ("re-added while they qualify (drift: restore)" if policy == RESTORE
              else "not re-added until they stop qualifying and qualify again (drift: respect)"))
    return PlanEntry(member.person_id, kind, REMOVED_IN_DYNAMICS,
                     {"drift": why, "policy": policy, "source_person_id": member.source_person_id})
