"""Trigger watermarks: how far into the activities table each trigger campaign's runs have evaluated.

A triggered run reads the activities past the watermark, adds who qualifies, and only then advances it, in its own
write transaction: a crash before the advance re-reads the same activities (their people are members by then, so
nothing is added twice); the watermark never moves back, so two overlapping runs cannot undo each other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import Watermark
from dynamics_campaign_sync.ledger.schema import trigger_watermarks as table


def get(connection: Connection, campaign_key: str) -> Watermark | None:
    row = connection.execute(select(table).where(table.c.campaign_key == campaign_key)).first()
    return Watermark.from_row(row) if row else None


def advance(connection: Connection, campaign_key: str, position: int | datetime, event_time: datetime | None,
            run_id: str, now: datetime) -> Watermark:
    """Set the watermark to ``position`` if it is further than the stored one; return the one now stored."""
    if isinstance(position, datetime):
        position = position.astimezone(UTC)
    kind, text = Watermark.encode(position)
    sql.lock(connection, "trigger-watermark", campaign_key)
    current = get(connection, campaign_key)
    values = {"kind": kind, "position": text, "event_time": event_time, "advanced_at": now,
              "advanced_by_run": run_id}
    if current is None:
        connection.execute(table.insert().values(campaign_key=campaign_key, **values))
    elif current.kind != kind:
        raise LedgerError(f"campaign {campaign_key}: the trigger watermark is a{'n' if current.kind == 'id' else ''} "
                          f"{current.kind}, not a{'n' if kind == 'id' else ''} {kind}; a spec that changes its "
                          "watermark column starts over with a new campaign key")
    elif position > current.position:  # type: ignore[operator]  # same kind, checked above
        connection.execute(update(table).where(table.c.campaign_key == campaign_key).values(**values))
    else:
        return current
    stored = get(connection, campaign_key)
    assert stored is not None
    return stored
