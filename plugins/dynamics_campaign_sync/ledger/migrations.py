"""Versioned schema: the ordered migration steps and the routine that applies them exactly once.

``schema_version`` holds one row per applied step. A fresh database is created straight from
:data:`~dynamics_campaign_sync.ledger.schema.metadata` (which always describes the newest schema) and stamped
with every step; an existing one gets the steps newer than its version. Everything happens in one transaction
that first takes the writers' lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so
concurrent tasks calling ``migrate()`` queue up and the later ones find nothing to do. Both databases have
transactional DDL, so a failed step leaves the previous version intact.

To change the schema: edit :mod:`.schema` and append a step here that makes the same change to an existing
database (``ALTER TABLE …``, backfilling data where needed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, String, func, insert, inspect, select, text, update

from dynamics_campaign_sync.ledger import deltas, sql
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.schema import (
    campaign_locks,
    campaign_owners,
    email_person_ids,
    event_batches,
    failures,
    memberships,
    metadata,
    plan_items,
    qualification_history,
    run_plans,
    schema_version,
    trigger_watermarks,
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_tables(connection: Connection) -> None:
    metadata.create_all(connection)


def _add_campaign_owners(connection: Connection) -> None:
    """Create ``campaign_owners``; each campaign with members is owned by the spec that added someone first."""
    campaign_owners.create(connection)
    first_adds = connection.execute(
        select(memberships.c.campaign_id, memberships.c.campaign_key,
               func.min(memberships.c.added_at).label("claimed_at"))
        .where(memberships.c.added_at.is_not(None))
        .group_by(memberships.c.campaign_id, memberships.c.campaign_key)
        .order_by(memberships.c.campaign_id, "claimed_at")
    )
    owners: dict[str, dict] = {}
    for row in first_adds:
        owners.setdefault(row.campaign_id, {"campaign_id": row.campaign_id, "campaign_key": row.campaign_key,
                                            "claimed_at": row.claimed_at,
                                            "claimed_by_run": "schema migration 2"})
    if owners:
        connection.execute(insert(campaign_owners), list(owners.values()))


def _widen_plan_person_ids(connection: Connection) -> None:
    """``person_id`` of plan items and failures was a GUID column; ``new:<source id>`` can be longer.
    SQLite does not enforce lengths, so only PostgreSQL needs the change."""
    if connection.dialect.name != "postgresql":
        return
    for table in (plan_items, failures):
        length = cast(String, table.c.person_id.type).length
        connection.execute(text(f"ALTER TABLE {table.name} ALTER COLUMN person_id TYPE VARCHAR({length})"))


def _production_correctness(connection: Connection) -> None:
    """Source ids up to the contract's limit in the qualification history, rule-blocked matches marked as not
    counted, room for drift states, the per-campaign write lock, plan details, and confirmation of published event
    batches (earlier publications count as
    confirmed: they were emitted by tasks that succeeded)."""
    campaign_locks.create(connection)
    for table, column in ((event_batches, "confirmed_at"), (run_plans, "details")):
        kind = table.c[column].type.compile(dialect=connection.dialect)
        connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column} {kind}"))
    # Every earlier qualification counted for the rule (the old behaviour); new blocked matches will not.
    counted = qualification_history.c.counted.type.compile(dialect=connection.dialect)
    connection.execute(text(f"ALTER TABLE {qualification_history.name} ADD COLUMN counted {counted} "
                            "NOT NULL DEFAULT TRUE"))
    connection.execute(update(event_batches).where(event_batches.c.published_at.is_not(None))
                       .values(confirmed_at=event_batches.c.published_at))
    if connection.dialect.name == "postgresql":  # SQLite does not enforce lengths
        for table, column in ((qualification_history, "person_id"), (memberships, "source_person_id"),
                              (memberships, "status")):
            kind = table.c[column].type.compile(dialect=connection.dialect)
            connection.execute(text(f"ALTER TABLE {table.name} ALTER COLUMN {column} TYPE {kind}"))


def _trigger_campaigns(connection: Connection) -> None:
    """Trigger campaigns: the watermark table, and plans marked batch (every earlier one) or trigger."""
    trigger_watermarks.create(connection)
    kind = run_plans.c.mode.type.compile(dialect=connection.dialect)
    connection.execute(text(f"ALTER TABLE {run_plans.name} ADD COLUMN mode {kind} NOT NULL DEFAULT 'batch'"))


def _add_email_person_ids(connection: Connection) -> None:
    email_person_ids.create(connection)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "campaign catalog, owned lists, memberships, event log and batches, intents, plans, failures, "
        "qualification history",
        _create_tables,
    ),
    Migration(2, "campaign owners: one spec per campaign", _add_campaign_owners),
    Migration(3, "plan items and failures hold new:<source id> (source ids up to 400 characters)", _widen_plan_person_ids),
    Migration(4, "source ids up to 400 characters everywhere, rule-blocked qualifications not counted, campaign write locks, plan details, confirmed "
                 "event publication", _production_correctness),
    Migration(5, "Dataverse people sources: delta links and snapshots of the selected columns",
              deltas.create_tables),
    Migration(6, "trigger campaigns: activity watermarks, batch and trigger plans", _trigger_campaigns),
    Migration(7, "remembered Dynamics ids of people known only by email", _add_email_person_ids),
)

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(connection: Connection) -> int:
    """The schema version of the database (0 when the ledger was never migrated)."""
    if not inspect(connection).has_table(schema_version.name):
        return 0
    return connection.scalar(select(func.max(schema_version.c.version))) or 0


def migrate(connection: Connection, now: datetime) -> int:
    """Bring the schema to :data:`LATEST_VERSION` inside the caller's write transaction; return the version."""
    sql.lock(connection, "migrate")
    version = current_version(connection)
    if version > LATEST_VERSION:
        raise LedgerError(
            f"the ledger database is at schema version {version}, newer than this code knows ({LATEST_VERSION}); "
            "upgrade the package before using it"
        )
    if version == 0:
        _create_tables(connection)
        pending = list(MIGRATIONS)
    else:
        pending = [step for step in MIGRATIONS if step.version > version]
        for step in pending:
            step.apply(connection)
    if pending:
        connection.execute(
            insert(schema_version),
            [
                {"version": step.version, "description": step.description, "applied_at": now}
                for step in pending
            ],
        )
    return LATEST_VERSION
