"""Read-only aggregates for the dashboard's overview and campaign pages: members and events per campaign,
recent plans, drifted people, and which campaigns the ledger knows.

Served through :class:`~.ledger.Ledger` (the schema has one owner); each function takes an open connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select, union

from dynamics_campaign_sync.ledger.checks import DRIFT_STATES, MEMBER, REMOVED
from dynamics_campaign_sync.ledger.models import Plan
from dynamics_campaign_sync.ledger.schema import event_batches, intents, memberships, run_plans


def member_counts(connection: Connection, campaign_id: str) -> dict[str, dict[str, int]]:
    """``{"member": {"lead": n, ...}, "removed": {...}}``: people we added (and those we took out again)."""
    rows = connection.execute(
        select(memberships.c.status, memberships.c.member_type, func.count())
        .where(memberships.c.campaign_id == campaign_id)
        .group_by(memberships.c.status, memberships.c.member_type)
    )
    counts: dict[str, dict[str, int]] = {MEMBER: {}, REMOVED: {}}
    for status, member_type, number in rows:
        counts.setdefault(status, {})[member_type] = number
    return counts


def drifted_people(connection: Connection, campaign_id: str, limit: int) -> list[dict[str, Any]]:
    """People we added who drifted (deleted in Dynamics, or taken out of our list there), newest first."""
    rows = connection.execute(
        select(
            memberships.c.person_id,
            memberships.c.member_type,
            memberships.c.source_person_id,
            memberships.c.status,
            memberships.c.added_at,
            memberships.c.removed_at,
            memberships.c.removed_by_run,
            memberships.c.reason,
        )
        .where(memberships.c.campaign_id == campaign_id, memberships.c.status.in_(sorted(DRIFT_STATES)))
        .order_by(memberships.c.removed_at.desc(), memberships.c.person_id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


def event_totals(connection: Connection, campaign_key: str) -> dict[str, int]:
    """``{"add": n, "remove": m}``: every membership change the sync ever recorded for the campaign."""
    rows = connection.execute(
        select(event_batches.c.action, func.coalesce(func.sum(event_batches.c.event_count), 0))
        .where(event_batches.c.campaign_key == campaign_key)
        .group_by(event_batches.c.action)
    )
    totals = {"add": 0, "remove": 0}
    totals.update({action: int(number) for action, number in rows})
    return totals


def recent_plans(connection: Connection, campaign_key: str, limit: int) -> list[Plan]:
    """The newest run plans of the campaign (every status), newest first."""
    rows = connection.execute(
        select(run_plans)
        .where(run_plans.c.campaign_key == campaign_key)
        .order_by(run_plans.c.created_at.desc(), run_plans.c.plan_id.desc())
        .limit(limit)
    )
    return [Plan.from_row(row) for row in rows]


def synced_campaign_ids(connection: Connection, campaign_keys: Iterable[str]) -> dict[str, str]:
    """``{campaign_key: campaign_id}`` as the syncs last wrote it (for specs that name their campaign).

    Every membership and event starts as an intent, so the newest intent holds the newest answer.
    """
    keys = list(campaign_keys)
    if not keys:
        return {}
    newest = (
        select(intents.c.campaign_key, func.max(intents.c.created_at).label("created_at"))
        .where(intents.c.campaign_key.in_(keys))
        .group_by(intents.c.campaign_key)
        .subquery()
    )
    rows = connection.execute(
        select(intents.c.campaign_key, intents.c.campaign_id).join(
            newest,
            (intents.c.campaign_key == newest.c.campaign_key) & (intents.c.created_at == newest.c.created_at),
        )
    )
    return {key: campaign_id for key, campaign_id in rows}


def campaign_keys(connection: Connection) -> set[str]:
    """Every campaign key the ledger knows (plans or memberships), with or without a spec today."""
    query = union(select(run_plans.c.campaign_key), select(memberships.c.campaign_key))
    return {key for (key,) in connection.execute(query)}

