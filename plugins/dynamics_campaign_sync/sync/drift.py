"""Drift around the plan stage: what it needs to know about Dynamics-side changes to our owned lists, and
recording what it noticed (see :mod:`.planner` for the rules)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from dynamics_campaign_sync.dataverse import DataverseClient, MemberType
from dynamics_campaign_sync.ledger.checks import MEMBER
from dynamics_campaign_sync.log_privacy import private_logger
from dynamics_campaign_sync.sync.planner import CurrentMember, DriftFacts, SyncPlan, missing_members
from dynamics_campaign_sync.sync.run import RunContext

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

log = private_logger(__name__)


def drift_facts(ledger: Ledger, client: DataverseClient, campaign_key: str, campaign_id: str, run: RunContext,
                members: dict[str, CurrentMember], in_owned: dict[MemberType, set[str]]) -> DriftFacts:
    """What drift needs besides the lists' members: earlier drift, writes in flight, when our lists were
    recorded, and which missing members' records still exist (one request per chunk of ids).

    Drift this run recorded already (a retried plan task) counts as seen now: ``members`` gets those people
    back as members, so the retry plans and counts what the first attempt did."""
    drifted = {}
    for person_id, m in ledger.drifted(campaign_id).items():
        entry = CurrentMember(person_id, MemberType(m.member_type), m.source_person_id, m.added_at, m.status)
        if m.removed_by_run == run.run_id:
            members[person_id] = replace(entry, status=MEMBER)
        else:
            drifted[person_id] = entry
    newest = ledger.newest_applied_interval(campaign_key)
    facts = DriftFacts(
        drifted=drifted,
        in_flight=frozenset(p for intent in ledger.pending_intents(campaign_key) for p in intent.people),
        list_since={MemberType(o.member_type): o.created_at for o in ledger.owned_lists(campaign_id)},
        may_clear=newest is None or run.interval_end >= newest[1],
    )
    by_type: dict[MemberType, list[str]] = {}
    for member in missing_members(members, in_owned, facts).values():
        by_type.setdefault(member.member_type, []).append(member.person_id)
    deleted: set[str] = set()
    for member_type, person_ids in by_type.items():
        deleted |= set(person_ids) - client.existing_ids(member_type, person_ids)
    return replace(facts, deleted=frozenset(deleted))


def record_drift(ledger: Ledger, campaign_id: str, run: RunContext, plan: SyncPlan) -> None:
    """Record the drift the plan noticed and the drift states it cleared (not our action: no asset event)."""
    if not plan.drift and not plan.cleared:
        return
    changed = ledger.record_drift(
        campaign_id, run.run_id, noticed={e.person_id: (e.action, e.reason) for e in plan.drift},
        cleared={e.person_id: {**e.reason, "cleared_by_run": run.run_id} for e in plan.cleared})
    log.info("Drift recorded: %d people changed state in the ledger", len(changed))
