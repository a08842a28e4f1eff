"""Remembered Dynamics ids of people the source knows only by email (see ``schema.email_person_ids``).

Matching by email costs Dataverse one request per 50 emails on every run; an email resolved once is looked up
again only after its id was forgotten — because Dynamics said the record is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.schema import email_person_ids as table


def remembered(connection: Connection, member_type: str, emails: Sequence[str]) -> dict[str, str]:
    """``{lower-cased email: Dynamics id}`` for the given (lower-cased) emails resolved before."""
    query = select(table.c.email, table.c.person_id).where(table.c.member_type == member_type)
    return {row.email: row.person_id for row in sql.rows_in(connection, query, table.c.email, emails)}


def remember(connection: Connection, member_type: str, found: Mapping[str, str], now: datetime) -> None:
    """Store ``{lower-cased email: Dynamics id}``; a newer answer replaces an older one."""
    rows = [{"member_type": member_type, "email": email, "person_id": person_id, "resolved_at": now}
            for email, person_id in found.items()]
    sql.upsert(connection, table, rows, key=["member_type", "email"], update=["person_id", "resolved_at"])


def forget(connection: Connection, person_ids: Sequence[str]) -> int:
    """Drop every email resolved to one of these Dynamics ids; return how many went."""
    gone = 0
    for chunk in chunked(person_ids, sql.IN_CHUNK):
        gone += connection.execute(delete(table).where(table.c.person_id.in_(chunk))).rowcount or 0
    return gone
