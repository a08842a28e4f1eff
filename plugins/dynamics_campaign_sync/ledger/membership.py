"""Membership state: for each campaign and person, whether we added them and whether we took them out again.

This table is the product's source of truth for "people that we added": removal may only ever touch people
whose row says ``member``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.checks import ADD, MEMBER, REMOVED
from dynamics_campaign_sync.ledger.models import Membership
from dynamics_campaign_sync.ledger.schema import memberships as table

_STATE_COLUMNS = [column.name for column in table.columns if not column.primary_key]


def members(connection: Connection, campaign_id: str, member_type: str | None) -> dict[str, Membership]:
    query = select(table).where(table.c.campaign_id == campaign_id, table.c.status == MEMBER)
    if member_type is not None:
        query = query.where(table.c.member_type == member_type)
    return {row.person_id: Membership.from_row(row) for row in connection.execute(query)}


def membership(connection: Connection, campaign_id: str, person_ids: Sequence[str]) -> dict[str, Membership]:
    query = select(table).where(table.c.campaign_id == campaign_id)
    rows = sql.rows_in(connection, query, table.c.person_id, person_ids)
    return {row.person_id: Membership.from_row(row) for row in rows}


def apply(
    connection: Connection,
    *,
    campaign_id: str,
    campaign_key: str,
    member_type: str,
    action: str,
    run_id: str,
    people: Mapping[str, tuple[str | None, Mapping[str, Any] | None]],
    now: datetime,
) -> list[str]:
    """Record that ``people`` (id → (source id, reason)) were added to or removed from the campaign.

    Only real changes are written: adding someone who is already a member, or removing someone who is not one,
    changes nothing. Returns the ids that changed, in the given order, so the caller logs exactly those events.
    """
    current = membership(connection, campaign_id, list(people))
    rows: list[dict[str, Any]] = []
    for person_id, (source_id, reason) in people.items():
        before = current.get(person_id)
        is_member = before is not None and before.is_member
        if action == ADD and not is_member:
            rows.append(
                {
                    "campaign_id": campaign_id,
                    "person_id": person_id,
                    "member_type": member_type,
                    "campaign_key": campaign_key,
                    "source_person_id": source_id or (before.source_person_id if before else None),
                    "status": MEMBER,
                    "added_at": now,
                    "added_by_run": run_id,
                    "removed_at": None,
                    "removed_by_run": None,
                    "reason": reason,
                }
            )
        elif action != ADD and is_member:
            assert before is not None
            rows.append(
                {
                    "campaign_id": campaign_id,
                    "person_id": person_id,
                    "member_type": before.member_type,
                    "campaign_key": before.campaign_key,
                    "source_person_id": before.source_person_id,
                    "status": REMOVED,
                    "added_at": before.added_at,
                    "added_by_run": before.added_by_run,
                    "removed_at": now,
                    "removed_by_run": run_id,
                    "reason": reason,
                }
            )
    sql.upsert(connection, table, rows, key=["campaign_id", "person_id"], update=_STATE_COLUMNS)
    return [row["person_id"] for row in rows]
