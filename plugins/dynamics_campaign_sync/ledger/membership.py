"""Membership state: for each campaign and person, whether we added them and whether we took them out again.

This table is the product's source of truth for "people that we added": removal may only ever touch people
whose row says ``member``. Drift — Dynamics-side changes to our owned lists — moves a member to
``deleted_in_dynamics`` (the lead/contact is gone) or ``removed_in_dynamics`` (someone took them out of our
list); neither is ever removed by us, and the first is never written to again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, literal, null, select, update

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.checks import (
    ADD,
    DRIFT_STATES,
    MEMBER,
    REMOVED,
    REMOVED_IN_DYNAMICS,
)
from dynamics_campaign_sync.ledger.models import Membership
from dynamics_campaign_sync.ledger.schema import intent_people
from dynamics_campaign_sync.ledger.schema import memberships as table

_STATE_COLUMNS = [column.name for column in table.columns if not column.primary_key]


def members(connection: Connection, campaign_id: str, member_type: str | None,
            statuses: Collection[str] = (MEMBER,)) -> dict[str, Membership]:
    query = select(table).where(table.c.campaign_id == campaign_id, table.c.status.in_(list(statuses)))
    if member_type is not None:
        query = query.where(table.c.member_type == member_type)
    return {row.person_id: Membership.from_row(row) for row in connection.execute(query)}


def campaign_sync_members(connection: Connection, campaign_key: str) -> set[str]:
    """The person ids that the campaign sync ``campaign_key`` added and has not removed (index on
    ``campaign_key, status``)."""
    query = select(table.c.person_id).where(table.c.campaign_key == campaign_key, table.c.status == MEMBER)
    return set(connection.execute(query).scalars())


def membership(connection: Connection, campaign_id: str, person_ids: Sequence[str]) -> dict[str, Membership]:
    query = select(table).where(table.c.campaign_id == campaign_id)
    rows = sql.rows_in(connection, query, table.c.person_id, person_ids)
    return {row.person_id: Membership.from_row(row) for row in rows}


def apply(
    connection: Connection,
    *,
    intent: Row[Any],
    succeeded: Collection[str],
    now: datetime,
) -> list[str]:
    """Record that the ``succeeded`` people of ``intent`` were added to or removed from its campaign.

    Only real changes are written: adding someone who is already a member, or removing someone who is not one,
    changes nothing. Returns the ids that changed, in person id order, so the caller logs exactly those events.
    Set-based: the rows are made in the database from the intent's people (source ids and reasons never travel
    through Python), one statement per :data:`sql.IN_CHUNK` people.
    """
    members = set(sql.values_in(
        connection,
        select(table.c.person_id).where(table.c.campaign_id == intent.campaign_id, table.c.status == MEMBER),
        table.c.person_id, sorted(succeeded)))
    adding = intent.action == ADD
    changed = sorted(p for p in succeeded if (p in members) != adding)
    people = intent_people.c
    for chunk in chunked(changed, sql.IN_CHUNK):
        mine = and_(people.intent_id == intent.intent_id, people.person_id.in_(chunk))
        if adding:
            before = select(table.c.source_person_id).where(table.c.campaign_id == intent.campaign_id,
                                                            table.c.person_id == people.person_id)
            rows = select(
                literal(intent.campaign_id), people.person_id, literal(intent.member_type),
                literal(intent.campaign_key), func.coalesce(people.source_person_id, before.scalar_subquery()),
                literal(MEMBER), literal(now, table.c.added_at.type), literal(intent.run_id),
                null(), null(), people.reason,
            ).where(mine)
            sql.upsert_from_select(connection, table, rows, key=["campaign_id", "person_id"],
                                   update=_STATE_COLUMNS)
        else:
            reason = select(people.reason).where(mine, people.person_id == table.c.person_id)
            connection.execute(
                update(table)
                .where(table.c.campaign_id == intent.campaign_id, table.c.person_id.in_(chunk))
                .values(status=REMOVED, removed_at=now, removed_by_run=intent.run_id,
                        reason=reason.scalar_subquery())
            )
    return changed


def record_drift(
    connection: Connection,
    *,
    campaign_id: str,
    run_id: str,
    noticed: Mapping[str, tuple[str, Mapping[str, Any]]],
    cleared: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> list[str]:
    """Record drift a run noticed and drift states it cleared; return the ids that changed.

    ``noticed`` maps a member to ``(drift state, why)``: the row keeps when and by which run it was added, and
    gets ``removed_at``/``removed_by_run`` (when and which run noticed) and the reason. ``cleared`` maps a
    ``removed_in_dynamics`` person to why their state ends (they stopped qualifying): the row becomes
    ``removed``, so qualifying again is a normal add. Only rows still in the expected state change, so a retried
    or concurrent run cannot overwrite a newer fact.
    """
    sql.lock(connection, "campaign", campaign_id)  # the lock intents take to complete: one writer per campaign
    current = membership(connection, campaign_id, [*noticed, *cleared])
    rows: list[dict[str, Any]] = []
    for person_id, (state, reason) in noticed.items():
        before = current.get(person_id)
        if before is not None and before.is_member:
            rows.append(_state_row(before, state, now, run_id, reason))
    for person_id, reason in cleared.items():
        before = current.get(person_id)
        if before is not None and before.status == REMOVED_IN_DYNAMICS:
            kept = {**(before.reason or {}), **reason}
            rows.append(_state_row(before, REMOVED, before.removed_at, before.removed_by_run, kept))
    sql.upsert(connection, table, rows, key=["campaign_id", "person_id"], update=_STATE_COLUMNS)
    return [row["person_id"] for row in rows]


def drifted(connection: Connection, campaign_id: str) -> dict[str, Membership]:
    """The campaign's people in a drift state (deleted or removed in Dynamics), by person id."""
    return members(connection, campaign_id, None, DRIFT_STATES)


def _state_row(before: Membership, status: str, removed_at: datetime | None, removed_by_run: str | None,
               reason: Mapping[str, Any] | None) -> dict[str, Any]:
    """``before``'s row with a new status, removal time and run, and reason."""
    return {
        "campaign_id": before.campaign_id,
        "person_id": before.person_id,
        "member_type": before.member_type,
        "campaign_key": before.campaign_key,
        "source_person_id": before.source_person_id,
        "status": status,
        "added_at": before.added_at,
        "added_by_run": before.added_by_run,
        "removed_at": removed_at,
        "removed_by_run": removed_by_run,
        "reason": dict(reason) if reason is not None else None,
    }
