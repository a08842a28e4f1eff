"""Per-person failures of a run: reported in the run summary while everyone else goes on.

A failure is cleared when a later attempt of the same run succeeds for that person, so the table always says
who is still failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.schema import failures as table


def record(
    connection: Connection,
    *,
    campaign_key: str,
    run_id: str,
    action: str,
    failed: Mapping[str, str],
    succeeded: Sequence[str],
    now: datetime,
) -> None:
    """Store the ``failed`` people's errors and forget earlier failures of the ``succeeded`` ones."""
    for chunk in chunked(succeeded, sql.IN_CHUNK):
        connection.execute(
            delete(table).where(
                table.c.campaign_key == campaign_key,
                table.c.run_id == run_id,
                table.c.action == action,
                table.c.person_id.in_(chunk),
            )
        )
    rows = [
        {
            "campaign_key": campaign_key,
            "run_id": run_id,
            "person_id": person_id,
            "action": action,
            "error": error,
            "recorded_at": now,
        }
        for person_id, error in failed.items()
    ]
    sql.upsert(
        connection,
        table,
        rows,
        key=["campaign_key", "run_id", "person_id", "action"],
        update=["error", "recorded_at"],
    )


def failures(connection: Connection, campaign_key: str, run_id: str, action: str | None) -> dict[str, str]:
    """``{person_id: error}``; a person who failed both to be added and removed shows both errors."""
    query = (
        select(table.c.person_id, table.c.action, table.c.error)
        .where(table.c.campaign_key == campaign_key, table.c.run_id == run_id)
        .order_by(table.c.person_id, table.c.action)
    )
    if action is not None:
        query = query.where(table.c.action == action)
    found: dict[str, dict[str, str]] = {}
    for person_id, failed_action, error in connection.execute(query):
        found.setdefault(person_id, {})[failed_action] = error
    return {
        person_id: next(iter(errors.values()))
        if len(errors) == 1
        else "; ".join(f"{failed_action}: {error}" for failed_action, error in errors.items())
        for person_id, errors in found.items()
    }
