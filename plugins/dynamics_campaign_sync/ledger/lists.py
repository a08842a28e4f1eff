"""Owned marketing lists: the one static list per campaign and member type that we created and may write to.

A list id belongs to exactly one campaign (a unique constraint backs this), so an owned list can never be
associated with, or written through, another campaign.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import OwnedList
from dynamics_campaign_sync.ledger.schema import owned_lists as table


def owned_list(connection: Connection, campaign_id: str, member_type: str) -> OwnedList | None:
    row = connection.execute(
        select(table).where(table.c.campaign_id == campaign_id, table.c.member_type == member_type)
    ).first()
    return OwnedList.from_row(row) if row else None


def owned_lists(connection: Connection, campaign_id: str | None) -> list[OwnedList]:
    query = select(table).order_by(table.c.campaign_id, table.c.member_type)
    if campaign_id is not None:
        query = query.where(table.c.campaign_id == campaign_id)
    return [OwnedList.from_row(row) for row in connection.execute(query)]


def save_owned_list(
    connection: Connection,
    *,
    campaign_id: str,
    member_type: str,
    list_id: str,
    list_name: str,
    verified_at: datetime,
    now: datetime,
) -> OwnedList:
    """Record (or re-verify) the owned list of ``(campaign_id, member_type)``.

    Refuses a list already owned for another campaign or member type. A different list for the same pair
    replaces the old one: callers only do that after finding the old list deleted in Dynamics.
    """
    sql.lock(connection, "owned_list", list_id)
    sql.lock(connection, "owned_lists", campaign_id)
    holder = connection.execute(select(table).where(table.c.list_id == list_id)).first()
    if holder is not None and (holder.campaign_id, holder.member_type) != (campaign_id, member_type):
        raise LedgerError(
            f"marketing list {list_id} is already owned for campaign {holder.campaign_id} ({holder.member_type}s); "
            f"it cannot also serve campaign {campaign_id} ({member_type}s)"
        )
    current = owned_list(connection, campaign_id, member_type)
    if current is None:
        connection.execute(
            insert(table).values(
                campaign_id=campaign_id,
                member_type=member_type,
                list_id=list_id,
                list_name=list_name,
                created_at=now,
                association_verified_at=verified_at,
            )
        )
    elif current.list_id == list_id:
        connection.execute(
            update(table)
            .where(table.c.campaign_id == campaign_id, table.c.member_type == member_type)
            .values(list_name=list_name, association_verified_at=verified_at)
        )
    else:
        connection.execute(
            update(table)
            .where(table.c.campaign_id == campaign_id, table.c.member_type == member_type)
            .values(list_id=list_id, list_name=list_name, created_at=now, association_verified_at=verified_at)
        )
    result = owned_list(connection, campaign_id, member_type)
    assert result is not None
    return result
