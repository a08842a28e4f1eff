"""Per-campaign write locks: one run at a time sends adds and removes for a campaign.

Airflow's ``max_active_runs=1`` is not a lock (a zombie's retry, a manual ``dag.test``, two schedulers). The lock is
a lease row: taken inside a write transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so
two takers never both win; renewed by its holder while it writes; and free for anyone once it expires, so a killed
holder blocks others only until then. The holder is the run id: a retry of the same run takes its lock over
(Airflow starts a retry only once it considers the earlier attempt gone).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.models import CampaignLock
from dynamics_campaign_sync.ledger.schema import campaign_locks as table


def acquire(connection: Connection, campaign_key: str, holder: str, now: datetime,
            lease: timedelta) -> CampaignLock | None:
    """Take or renew the campaign's lock for ``holder``; return None on success, else the lock someone else holds."""
    sql.lock(connection, "campaign-write", campaign_key)
    row = connection.execute(select(table).where(table.c.campaign_key == campaign_key)).first()
    values = {"holder": holder, "acquired_at": now, "expires_at": now + lease}
    if row is None:
        connection.execute(table.insert().values(campaign_key=campaign_key, **values))
        return None
    current = CampaignLock.from_row(row)
    if current.holder != holder and current.expires_at > now:
        return current
    if current.holder == holder:
        values["acquired_at"] = current.acquired_at
    connection.execute(update(table).where(table.c.campaign_key == campaign_key).values(**values))
    return None


def renew(connection: Connection, campaign_key: str, holder: str, now: datetime, lease: timedelta) -> bool:
    """Extend ``holder``'s lease; False when it no longer holds the lock (it expired and someone took it)."""
    result = connection.execute(
        update(table).where(table.c.campaign_key == campaign_key, table.c.holder == holder)
        .values(expires_at=now + lease)
    )
    return bool(result.rowcount)


def release(connection: Connection, campaign_key: str, holder: str) -> None:
    """Give the lock up (only if ``holder`` still has it)."""
    connection.execute(delete(table).where(table.c.campaign_key == campaign_key, table.c.holder == holder))
