"""The append-only event log of every add and remove we made, grouped into event batches.

A batch gathers the events of one run, campaign and action. It stays open while the run records more chunks and
is closed by :func:`mark_published` once the Airflow asset event naming it has been emitted; chunks recorded
after that start a new batch, so a published batch never changes under a downstream DAG that reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, literal, select, update

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.ledger import sql
from dynamics_campaign_sync.ledger.checks import preview
from dynamics_campaign_sync.ledger.errors import LedgerError
from dynamics_campaign_sync.ledger.models import EventBatch
from dynamics_campaign_sync.ledger.schema import event_batches, events, intent_people


def append(connection: Connection, intent: Row[Any], person_ids: Sequence[str], now: datetime) -> str:
    """Log one event per person of ``intent`` named in ``person_ids`` (with the reason the intent holds) in its run's
    open batch, in person id order; return the batch. Set-based: one ``INSERT … SELECT`` per chunk of people."""
    batch_id = _open_batch(connection, intent, now)
    connection.execute(
        update(event_batches)
        .where(event_batches.c.batch_id == batch_id)
        .values(event_count=event_batches.c.event_count + len(person_ids))
    )
    people = intent_people.c
    columns = ["batch_id", "campaign_id", "campaign_key", "person_id", "member_type", "action", "run_id",
               "interval_start", "interval_end", "reason", "recorded_at"]
    for chunk in chunked(sorted(person_ids), sql.IN_CHUNK):
        rows = select(
            literal(batch_id), literal(intent.campaign_id), literal(intent.campaign_key), people.person_id,
            literal(intent.member_type), literal(intent.action), literal(intent.run_id),
            literal(intent.interval_start, events.c.interval_start.type),
            literal(intent.interval_end, events.c.interval_end.type), people.reason,
            literal(now, events.c.recorded_at.type),
        ).where(people.intent_id == intent.intent_id, people.person_id.in_(chunk)).order_by(people.person_id)
        connection.execute(insert(events).from_select(columns, rows))
    return batch_id


def _open_batch(connection: Connection, intent: Row[Any], now: datetime) -> str:
    """The run's unpublished batch for this campaign and action, created if there is none (row locked)."""
    found = connection.execute(
        select(event_batches.c.batch_id)
        .where(
            event_batches.c.campaign_key == intent.campaign_key,
            event_batches.c.campaign_id == intent.campaign_id,
            event_batches.c.run_id == intent.run_id,
            event_batches.c.action == intent.action,
            event_batches.c.published_at.is_(None),
        )
        .with_for_update()
    ).scalar()
    if found is not None:
        return found
    batch_id = uuid.uuid4().hex
    connection.execute(
        insert(event_batches).values(
            batch_id=batch_id,
            campaign_key=intent.campaign_key,
            campaign_id=intent.campaign_id,
            action=intent.action,
            run_id=intent.run_id,
            interval_start=intent.interval_start,
            interval_end=intent.interval_end,
            event_count=0,
            created_at=now,
            published_at=None,
        )
    )
    return batch_id


def event_batches_matching(
    connection: Connection,
    *,
    campaign_key: str | None,
    run_id: str | None,
    action: str | None,
    unpublished_only: bool,
    unconfirmed_only: bool = False,
) -> list[EventBatch]:
    query = select(event_batches).order_by(event_batches.c.created_at, event_batches.c.batch_id)
    if campaign_key is not None:
        query = query.where(event_batches.c.campaign_key == campaign_key)
    if run_id is not None:
        query = query.where(event_batches.c.run_id == run_id)
    if action is not None:
        query = query.where(event_batches.c.action == action)
    if unpublished_only:
        query = query.where(event_batches.c.published_at.is_(None))
    if unconfirmed_only:
        query = query.where(event_batches.c.confirmed_at.is_(None))
    return [EventBatch.from_row(row) for row in connection.execute(query)]


def batch_events(connection: Connection, batch_id: str) -> list[dict[str, Any]]:
    """The events of one batch in the order they were recorded."""
    known = connection.scalar(select(event_batches.c.batch_id).where(event_batches.c.batch_id == batch_id))
    if known is None:
        raise LedgerError(f"unknown event batch {batch_id!r}")
    query = select(events).where(events.c.batch_id == batch_id).order_by(events.c.event_id)
    return [dict(row._mapping) for row in connection.execute(query)]


def mark_published(connection: Connection, batch_ids: Sequence[str], published_at: datetime) -> None:
    """Close the batches; a batch already published keeps its first publication time."""
    known = set(
        connection.scalars(select(event_batches.c.batch_id).where(event_batches.c.batch_id.in_(batch_ids)))
    )
    missing = [batch_id for batch_id in batch_ids if batch_id not in known]
    if missing:
        raise LedgerError(f"cannot mark unknown event batches as published: {preview(missing)}")
    connection.execute(
        update(event_batches)
        .where(event_batches.c.batch_id.in_(batch_ids), event_batches.c.published_at.is_(None))
        .values(published_at=published_at)
    )


def confirm_published(connection: Connection, batch_ids: Sequence[str], confirmed_at: datetime) -> None:
    """Record that Airflow has the asset events of these (published) batches; the first confirmation stays."""
    connection.execute(
        update(event_batches)
        .where(event_batches.c.batch_id.in_(batch_ids), event_batches.c.confirmed_at.is_(None))
        .values(confirmed_at=confirmed_at, published_at=func.coalesce(event_batches.c.published_at, confirmed_at))
    )
