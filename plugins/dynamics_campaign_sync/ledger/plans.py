"""Run plans and interval bookkeeping: what each run computed, whether it wrote, and which interval is newest.

The rule the sync DAG enforces: a run may only write if its interval ends after the newest interval already
applied for the campaign; otherwise its plan is kept as ``superseded``. Only batch plans take part: a triggered
run's plan (mode ``trigger``) covers a few people as of an activity's time, never a whole interval. :func:`claim_interval` makes that check
and the status change one atomic step, so two runs of a backfill cannot both win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.checks import APPLIED, BATCH, PLANNED, SUPERSEDED
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import Plan, PlanItem
from dynamics_campaign_sync.ledger.schema import plan_items, run_plans

_ITEM_COLUMNS = ("plan_id", "person_id", "member_type", "action", "reason")


def record(
    connection: Connection,
    campaign_key: str,
    run_id: str,
    plan: Mapping[str, Any],
    items: Sequence[dict[str, Any]],
    now: datetime,
) -> None:
    """Create or overwrite the plan of ``(campaign_key, run_id)``: ``plan`` holds its checked columns (mode,
    interval, status, counts, details); its items are replaced by ``items``."""
    sql.lock(connection, "plans", campaign_key)
    values = {**plan, "finished_at": None if plan["status"] == PLANNED else now}
    plan_id = _plan_id(connection, campaign_key, run_id)
    if plan_id is None:
        inserted = connection.execute(
            insert(run_plans).values(campaign_key=campaign_key, run_id=run_id, created_at=now, **values)
        ).inserted_primary_key
        if inserted is None:  # only an insert without a primary key (never ours) answers None
            raise LedgerError(f"no plan id for campaign {campaign_key!r}, run {run_id!r}")
        plan_id = inserted[0]
    else:
        connection.execute(update(run_plans).where(run_plans.c.plan_id == plan_id).values(**values))
        connection.execute(delete(plan_items).where(plan_items.c.plan_id == plan_id))
    sql.insert_rows(connection, plan_items, _ITEM_COLUMNS,
                    ((plan_id, *(item[name] for name in _ITEM_COLUMNS[1:])) for item in items))


def update_status(
    connection: Connection,
    campaign_key: str,
    run_id: str,
    status: str,
    counts: Mapping[str, int] | None,
    now: datetime,
) -> None:
    """Move a plan to ``status``; ``counts`` are merged into the stored ones (new keys added, others kept)."""
    sql.lock(connection, "plans", campaign_key)
    row = _locked_row(connection, campaign_key, run_id)
    connection.execute(
        update(run_plans)
        .where(run_plans.c.plan_id == row.plan_id)
        .values(
            status=status,
            counts={**row.counts, **(counts or {})},
            finished_at=None if status == PLANNED else now,
        )
    )


def claim_interval(connection: Connection, campaign_key: str, run_id: str, now: datetime) -> bool:
    """Mark the plan ``applied`` if its interval ends after every other applied plan's, else ``superseded``.

    Returns whether the run may write. Claiming again for the same run gives the same answer unless a newer
    interval was applied in between.
    """
    sql.lock(connection, "plans", campaign_key)
    row = _locked_row(connection, campaign_key, run_id)
    newest = connection.scalar(
        select(run_plans.c.interval_end)
        .where(
            run_plans.c.campaign_key == campaign_key,
            run_plans.c.status == APPLIED,
            run_plans.c.mode == BATCH,
            run_plans.c.run_id != run_id,
        )
        .order_by(run_plans.c.interval_end.desc())
        .limit(1)
    )
    wins = newest is None or row.interval_end > newest
    values: dict[str, Any] = {"status": APPLIED} if wins else {"status": SUPERSEDED, "finished_at": now}
    connection.execute(update(run_plans).where(run_plans.c.plan_id == row.plan_id).values(**values))
    return wins


def plan(connection: Connection, campaign_key: str, run_id: str) -> Plan | None:
    row = connection.execute(
        select(run_plans).where(run_plans.c.campaign_key == campaign_key, run_plans.c.run_id == run_id)
    ).first()
    return Plan.from_row(row) if row else None


def latest(connection: Connection, campaign_key: str, status: str | None) -> Plan | None:
    """The most recently created plan of the campaign (optionally with ``status``)."""
    query = (
        select(run_plans)
        .where(run_plans.c.campaign_key == campaign_key)
        .order_by(run_plans.c.created_at.desc(), run_plans.c.plan_id.desc())
        .limit(1)
    )
    if status is not None:
        query = query.where(run_plans.c.status == status)
    row = connection.execute(query).first()
    return Plan.from_row(row) if row else None


def newest_applied_interval(connection: Connection, campaign_key: str) -> tuple[datetime, datetime] | None:
    row = connection.execute(
        select(run_plans.c.interval_start, run_plans.c.interval_end)
        .where(run_plans.c.campaign_key == campaign_key, run_plans.c.status == APPLIED, run_plans.c.mode == BATCH)
        .order_by(run_plans.c.interval_end.desc())
        .limit(1)
    ).first()
    return (row.interval_start, row.interval_end) if row else None


def items(
    connection: Connection, campaign_key: str, run_id: str, action: str | None, limit: int | None
) -> list[PlanItem]:
    """The plan's people (optionally one action, at most ``limit``), by action then person id."""
    plan_id = _plan_id(connection, campaign_key, run_id)
    if plan_id is None:
        raise LedgerError(f"no plan recorded for campaign {campaign_key!r}, run {run_id!r}")
    query = (
        select(plan_items)
        .where(plan_items.c.plan_id == plan_id)
        .order_by(plan_items.c.action, plan_items.c.person_id)
        .limit(limit)
    )
    if action is not None:
        query = query.where(plan_items.c.action == action)
    return [PlanItem.from_row(row) for row in connection.execute(query)]


def _plan_id(connection: Connection, campaign_key: str, run_id: str) -> int | None:
    return connection.scalar(
        select(run_plans.c.plan_id).where(
            run_plans.c.campaign_key == campaign_key, run_plans.c.run_id == run_id
        )
    )


def _locked_row(connection: Connection, campaign_key: str, run_id: str) -> Row[Any]:
    row = connection.execute(
        select(run_plans)
        .where(run_plans.c.campaign_key == campaign_key, run_plans.c.run_id == run_id)
        .with_for_update()
    ).first()
    if row is None:
        raise LedgerError(f"no plan recorded for campaign {campaign_key!r}, run {run_id!r}")
    return row
