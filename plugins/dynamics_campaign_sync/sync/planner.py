"""The sync plan: who to add to and who to remove from a campaign's owned lists, and who we leave alone.

Pure set arithmetic over what the other layers found, so every rule is testable on its own:

* add — qualified people the qualification rule lets through (once / every time / every N days) who
  are not yet in our owned list;
* remove — people *we* added (ledger) who are still in our owned list and stopped qualifying, as the
  removal policy says (mirror, never, after N days unqualified);
* not ours — people in the campaign who do not qualify but were put there by someone else (another
  list, or added to our list by hand): never removed, only counted;
* already gone — people we added whom someone took out of our list by hand: counted, not re-added
  unless they qualify again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Plan items for people who are not in Dynamics yet carry this prefix and the source person id.
NEW_PERSON_PREFIX = "new:"


@dataclass(frozen=True)
class Candidate:
    """A qualified person, resolved (or not) to a Dynamics id."""

    source_person_id: str
    member_type: str
    dynamics_id: str | None
    email: str | None
    reasons: Mapping[str, Any]

    @property
    def plan_id(self) -> str:
        """The id the plan uses: the Dynamics id, or ``new:<source id>`` for a lead still to be created."""
        return self.dynamics_id or f"{NEW_PERSON_PREFIX}{self.source_person_id}"


@dataclass(frozen=True)
class CurrentMember:
    """Someone we added (from the ledger)."""

    person_id: str
    member_type: str
    source_person_id: str | None
    added_at: dt.datetime | None


@dataclass(frozen=True)
class PlanEntry:
    person_id: str
    member_type: str
    action: str
    reason: dict[str, Any]


@dataclass
class SyncPlan:
    adds: list[PlanEntry] = field(default_factory=list)
    removes: list[PlanEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

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


def build_plan(
    *,
    candidates: Iterable[Candidate],
    eligible_source_ids: set[str],
    unresolved: Mapping[str, str],
    our_members: Mapping[str, CurrentMember],
    in_owned_lists: Mapping[str, set[str]],
    in_other_lists: Mapping[str, set[str]],
    removal_policy: str,
    removal_days: int | None,
    last_qualified: Mapping[str, dt.datetime],
    as_of: dt.datetime,
) -> SyncPlan:
    """Compute the plan. ``in_owned_lists``/``in_other_lists`` map member type → Dynamics ids in the
    campaign's owned list / its other lists; ``last_qualified`` is keyed by source person id;
    ``unresolved`` holds qualified people that cannot be found or created in Dynamics (id → why)."""
    plan = SyncPlan()
    candidates = list(candidates)
    qualified_dynamics_ids = {c.dynamics_id for c in candidates if c.dynamics_id}
    qualified_source_ids = {c.source_person_id for c in candidates}

    for candidate in candidates:
        if candidate.source_person_id not in eligible_source_ids:
            continue
        if candidate.dynamics_id and candidate.dynamics_id in in_owned_lists.get(candidate.member_type, set()):
            continue
        reason = {**candidate.reasons, "source_person_id": candidate.source_person_id}
        if candidate.email:
            reason["email"] = candidate.email
        plan.adds.append(PlanEntry(candidate.plan_id, candidate.member_type, "add", reason))

    already_gone = 0
    for person_id, member in our_members.items():
        still_qualified = person_id in qualified_dynamics_ids or member.source_person_id in qualified_source_ids
        if still_qualified:
            continue
        last = last_qualified.get(member.source_person_id or "")
        if not removal_due(removal_policy, removal_days, member, last, as_of):
            continue
        if person_id not in in_owned_lists.get(member.member_type, set()):
            already_gone += 1
            continue
        reason = {"rule": f"removal policy {removal_policy}", "source_person_id": member.source_person_id,
                  "last_qualified": last.isoformat() if last else None}
        plan.removes.append(PlanEntry(person_id, member.member_type, "remove", reason))

    not_ours = set()
    for member_type in set(in_owned_lists) | set(in_other_lists):
        in_campaign = in_owned_lists.get(member_type, set()) | in_other_lists.get(member_type, set())
        not_ours |= {p for p in in_campaign if p not in our_members and p not in qualified_dynamics_ids}

    plan.counts = {
        "qualified": len(candidates),
        "eligible": len(eligible_source_ids & qualified_source_ids),
        "to_add": len(plan.adds),
        "to_create": sum(e.person_id.startswith(NEW_PERSON_PREFIX) for e in plan.adds),
        "to_remove": len(plan.removes),
        "current_members": len(our_members),
        "not_ours": len(not_ours),
        "already_gone": already_gone,
        "unresolved": len(unresolved),
    }
    return plan
