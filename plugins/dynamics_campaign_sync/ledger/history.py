"""Qualification history, behind the once / every-N-days qualification rules.

What the qualification rule reads (:mod:`dynamics_campaign_sync.qualification.history`; the tests check it
against reference histories): one row per campaign, person and qualification time,
with the run that saw it. Lookups can be limited to times strictly before an as-of time, so re-running an
interval gets the same answer and a backfill of an older interval is not blocked by newer runs. Both
directions work on 100k+ people: lookups run in chunked IN lists, writes as one insert through the driver.

The table grows by one row per qualified person and applied run; :func:`thin` bounds it. Thinning rows older
than a cut-off, except each person's first, changes no decision as of any time at least the rules' N days
after the cut-off: "once" needs only the first row, and "every N days" / "remove after N days unqualified"
only whether the latest row is older than N days — which a thinned person's remaining, older row still says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.schema import qualification_history as table


def last_qualified(
    connection: Connection, campaign_key: str, person_ids: Sequence[str], before: datetime | None,
    counted_only: bool = False,
) -> dict[str, datetime]:
    """``{person_id: latest qualification time}`` of those people who have one (only times < ``before``; only
    matches the qualification rule let through, with ``counted_only``)."""
    latest = func.max(table.c.qualified_at).label("qualified_at")
    query = (
        select(table.c.person_id, latest)
        .where(table.c.campaign_key == campaign_key)
        .group_by(table.c.person_id)
    )
    if before is not None:
        query = query.where(table.c.qualified_at < before)
    if counted_only:
        query = query.where(table.c.counted.is_(True))
    rows = sql.rows_in(connection, query, table.c.person_id, person_ids)
    return {row.person_id: row.qualified_at for row in rows}


def record(
    connection: Connection, campaign_key: str, person_ids: Sequence[str], qualified_at: datetime, run_id: str,
    counted: bool = True,
) -> None:
    """Remember that ``person_ids`` qualified at ``qualified_at`` in ``run_id``; recording twice is harmless.
    ``counted=False`` records matches the qualification rule blocked."""
    sql.insert_rows(connection, table, ("campaign_key", "person_id", "qualified_at", "run_id", "counted"),
                    ((campaign_key, person_id, qualified_at, run_id, counted) for person_id in person_ids),
                    skip_existing=("campaign_key", "person_id", "qualified_at"))


def forget(connection: Connection, campaign_key: str, run_id: str) -> int:
    """Drop the qualifications one run recorded (the run did not go on to apply its plan)."""
    result = connection.execute(
        delete(table).where(table.c.campaign_key == campaign_key, table.c.run_id == run_id)
    )
    return result.rowcount or 0


def thin(connection: Connection, campaign_key: str, older_than: datetime) -> int:
    """Drop qualifications before ``older_than`` except each person's first; return how many went."""
    earlier = table.alias("earlier")
    first = (
        select(func.min(earlier.c.qualified_at))
        .where(earlier.c.campaign_key == table.c.campaign_key, earlier.c.person_id == table.c.person_id)
        .scalar_subquery()
    )
    result = connection.execute(
        delete(table).where(
            table.c.campaign_key == campaign_key, table.c.qualified_at < older_than, table.c.qualified_at > first
        )
    )
    return result.rowcount or 0
