"""Dataverse people read with change tracking: each scope's delta link and its snapshot of the selected columns.

A scope is one spec's read of one table (``<spec key>/leads``). The snapshot holds every record of the table
with the columns that spec selects, so applying a delta read (changed records, deleted ids) to it gives the same
people as a full read; ``columns`` says which columns it holds, and a spec that selects others starts over with
a full read. Snapshot changes and the new delta link are written in one transaction, so a snapshot always
matches its link.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Integer, Table, Text, delete, func, insert, select, update

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.columns import UTCDateTime
from dynamics_campaign_sync.ledger.schema import GUID, KEY, metadata

delta_links = Table(
    "dataverse_delta_links",
    metadata,
    Column("scope", KEY, primary_key=True),
    Column("columns", Text, nullable=False),  # JSON list, sorted
    Column("delta_link", Text, nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

snapshot_rows = Table(
    "dataverse_snapshot_rows",
    metadata,
    Column("scope", KEY, primary_key=True),
    Column("record_id", GUID, primary_key=True),
    Column("record", Text, nullable=False),  # JSON object of the selected columns
)

#: Rows per multi-row INSERT of a snapshot.
_INSERT_CHUNK = 5_000


@dataclass(frozen=True)
class PeopleSnapshot:
    """A scope's records by id (the selected columns), and the delta link that continues from them."""

    columns: tuple[str, ...]
    delta_link: str
    records: dict[str, dict[str, Any]]


def create_tables(connection: Connection) -> None:
    delta_links.create(connection)
    snapshot_rows.create(connection)


def load(connection: Connection, scope: str) -> PeopleSnapshot | None:
    link = connection.execute(select(delta_links).where(delta_links.c.scope == scope)).first()
    if link is None:
        return None
    rows = connection.execute(select(snapshot_rows.c.record_id, snapshot_rows.c.record)
                              .where(snapshot_rows.c.scope == scope))
    return PeopleSnapshot(tuple(json.loads(link.columns)), link.delta_link,
                          {row.record_id: json.loads(row.record) for row in rows})


def save(connection: Connection, scope: str, *, columns: Sequence[str], delta_link: str,
         changed: dict[str, dict[str, Any]], deleted: Sequence[str], replace: bool, now: datetime) -> int:
    """Apply a read to the scope's snapshot (``replace``: a full read, the old snapshot goes) and keep its link;
    return the records the snapshot holds."""
    sql.lock(connection, "dataverse_snapshot", scope)
    if replace:
        connection.execute(delete(snapshot_rows).where(snapshot_rows.c.scope == scope))
    gone = sorted({*deleted, *changed})
    for chunk in ([] if replace else chunked(gone, sql.IN_CHUNK)):
        connection.execute(delete(snapshot_rows).where(snapshot_rows.c.scope == scope,
                                                       snapshot_rows.c.record_id.in_(chunk)))
    rows: list[dict[str, str]] = [{"scope": scope, "record_id": record_id, "record": json.dumps(record, separators=(",", ":"))}
            for record_id, record in changed.items()]
    for batch in chunked(rows, _INSERT_CHUNK):
        connection.execute(insert(snapshot_rows), list(batch))
    count = connection.scalar(select(func.count()).select_from(snapshot_rows)
                              .where(snapshot_rows.c.scope == scope)) or 0
    values = {"columns": json.dumps(sorted(columns)), "delta_link": delta_link, "record_count": count,
              "updated_at": now}
    if connection.execute(update(delta_links).where(delta_links.c.scope == scope).values(**values)).rowcount == 0:
        connection.execute(insert(delta_links).values(scope=scope, **values))
    return count
