"""Helpers for DAGs scheduled on the "added"/"removed" assets: who changed, and a follow-up table.

An asset event carries only event batch ids (small, no personal data, no secrets); the people are read
from the ledger here. The follow-up table is an example of per-person work a marketing team might
want — one row per person and batch, so re-running a downstream DAG never duplicates work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dynamics_campaign_sync.chunking import chunked

if TYPE_CHECKING:
    from dynamics_campaign_sync.ledger import Ledger

FOLLOW_UPS = sa.Table(
    "campaign_follow_ups",
    sa.MetaData(),
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("campaign_key", sa.String(200), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("member_type", sa.String(10), nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("assigned_to", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def batch_ids_from(events: Mapping[Any, Sequence[Any]] | None, extra_ids: Iterable[str] = ()) -> list[str]:
    """Event batch ids named by the triggering asset events (plus any given by hand), without repeats."""
    found: list[str] = []
    for asset_events in (events or {}).values():
        for event in asset_events:
            found.extend((event.extra or {}).get("batch_ids", []))
    found.extend(extra_ids)
    return list(dict.fromkeys(found))


def people_of_batches(ledger: Ledger, batch_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One small dict per person and batch: ids, member type, campaign, action, matched rules."""
    people = []
    for batch_id in batch_ids:
        for event in ledger.batch_events(batch_id):
            reason = event.get("reason") or {}
            people.append({
                "batch_id": batch_id,
                "person_id": event["person_id"],
                "member_type": event["member_type"],
                "campaign_key": event["campaign_key"],
                "action": event["action"],
                "matched": reason.get("matched", []),
            })
    return people


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """The items in lists of at most ``size`` (one list per mapped task: plain lists, as XComs)."""
    return [list(chunk) for chunk in chunked(items, size)]


def follow_up_task(person: Mapping[str, Any]) -> str:
    verb = "Welcome" if person["action"] == "add" else "Close out"
    return f"{verb} {person['member_type']} {person['person_id']} ({person['campaign_key']})"


def record_follow_ups(engine: sa.Engine, people: Iterable[Mapping[str, Any]], assigned_to: Mapping[str, str]) -> int:
    """Insert one follow-up per person and batch; rows that exist already are left alone. Returns new rows."""
    FOLLOW_UPS.metadata.create_all(engine, checkfirst=True)
    now = dt.datetime.now(dt.UTC)
    rows = [{
        "batch_id": p["batch_id"], "person_id": p["person_id"], "campaign_key": p["campaign_key"],
        "action": p["action"], "member_type": p["member_type"], "task": follow_up_task(p),
        "assigned_to": assigned_to.get(p["campaign_key"], "marketing"), "created_at": now,
    } for p in people]
    if not rows:
        return 0
    with engine.begin() as connection:
        existing = {tuple(r) for r in connection.execute(
            sa.select(FOLLOW_UPS.c.batch_id, FOLLOW_UPS.c.person_id)
            .where(FOLLOW_UPS.c.batch_id.in_({r["batch_id"] for r in rows})))}
        new = [r for r in rows if (r["batch_id"], r["person_id"]) not in existing]
        if new:
            connection.execute(FOLLOW_UPS.insert(), new)
    return len(new)
