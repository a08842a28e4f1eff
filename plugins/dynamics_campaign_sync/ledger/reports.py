"""Read-only reports over the ledger for the dashboard: event pages, membership over time, run failures and
everything recorded about one person.

The ledger schema has one owner: the dashboard asks these questions through :class:`~.ledger.Ledger`, never
with its own SQL. Each function takes an open connection so one request reads one consistent snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, String, cast, func, or_, select

from dynamics_campaign_sync.ledger.schema import (
    event_batches,
    events,
    failures,
    memberships,
    plan_items,
    qualification_history,
    run_plans,
)

#: Columns of one event row, in the order the CSV export writes them.
EVENT_COLUMNS = (events.c.event_id, events.c.recorded_at, events.c.action, events.c.member_type,
                 events.c.person_id, events.c.run_id, events.c.interval_end, events.c.reason)


@dataclass(frozen=True)
class EventFilter:
    """Which events of a campaign to list: a recorded-at date range (inclusive days, UTC), one action, and a
    case-insensitive search over the Dynamics id and the reason (source id, email, name)."""

    since: date | None = None
    until: date | None = None
    action: str | None = None
    search: str | None = None


def _event_conditions(campaign_key: str, wanted: EventFilter) -> list[Any]:
    conditions: list[Any] = [events.c.campaign_key == campaign_key]
    if wanted.since is not None:
        conditions.append(events.c.recorded_at >= datetime.combine(wanted.since, time(), tzinfo=UTC))
    if wanted.until is not None:  # the whole ``until`` day
        conditions.append(events.c.recorded_at < _day_after(wanted.until))
    if wanted.action is not None:
        conditions.append(events.c.action == wanted.action)
    if wanted.search:
        needle = f"%{_escape(wanted.search.strip().lower())}%"
        conditions.append(or_(
            func.lower(events.c.person_id).like(needle, escape="\\"),
            # JSON as text: source_person_id, email and any name the reason carries, on both databases.
            func.lower(cast(events.c.reason, String)).like(needle, escape="\\"),
        ))
    return conditions


def _day_after(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=1)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def events_page(
    connection: Connection, campaign_key: str, wanted: EventFilter, limit: int | None, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """``(total, rows)``: how many events match, and ``limit`` of them from ``offset``, newest first."""
    conditions = _event_conditions(campaign_key, wanted)
    total = connection.execute(select(func.count()).select_from(events).where(*conditions)).scalar_one()
    query = select(*EVENT_COLUMNS).where(*conditions).order_by(events.c.event_id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return int(total), [dict(row._mapping) for row in connection.execute(query)]


def membership_over_time(connection: Connection, campaign_key: str) -> list[dict[str, Any]]:
    """Per UTC day of the data interval end, oldest first: adds, removes and the member count after that day
    (cumulative adds − removes). By interval end so that a backfill draws the history it rebuilt."""
    rows = connection.execute(
        select(event_batches.c.interval_end, event_batches.c.action, func.sum(event_batches.c.event_count))
        .where(event_batches.c.campaign_key == campaign_key)
        .group_by(event_batches.c.interval_end, event_batches.c.action)
    )
    days: dict[date, dict[str, int]] = defaultdict(lambda: {"add": 0, "remove": 0})
    for interval_end, action, number in rows:
        days[interval_end.date()][action] += int(number)
    members, timeline = 0, []
    for day, counts in sorted(days.items()):
        members += counts["add"] - counts["remove"]
        timeline.append({"date": day.isoformat(), "added": counts["add"], "removed": counts["remove"],
                         "members": members})
    return timeline


def last_adds(connection: Connection, campaign_key: str, run_ids: Iterable[str]) -> dict[str, datetime]:
    """When each run's last add was recorded (after Dynamics took it); runs that added nobody are left out."""
    rows = connection.execute(
        select(events.c.run_id, func.max(events.c.recorded_at))
        .where(events.c.campaign_key == campaign_key, events.c.action == "add", events.c.run_id.in_(list(run_ids)))
        .group_by(events.c.run_id)
    )
    return {run_id: recorded_at for run_id, recorded_at in rows}


def run_failures(connection: Connection, campaign_key: str, run_id: str) -> list[dict[str, Any]]:
    """The people a run still fails to add or remove, with Dynamics' error and who they are (from the plan)."""
    item = (
        select(plan_items.c.person_id, plan_items.c.action, plan_items.c.member_type, plan_items.c.reason)
        .join(run_plans, run_plans.c.plan_id == plan_items.c.plan_id)
        .where(run_plans.c.campaign_key == campaign_key, run_plans.c.run_id == run_id)
        .subquery()
    )
    rows = connection.execute(
        select(failures.c.person_id, failures.c.action, failures.c.error, failures.c.recorded_at,
               item.c.member_type, item.c.reason)
        .outerjoin(item, (item.c.person_id == failures.c.person_id) & (item.c.action == failures.c.action))
        .where(failures.c.campaign_key == campaign_key, failures.c.run_id == run_id)
        .order_by(failures.c.person_id, failures.c.action)
    )
    return [dict(row._mapping) for row in rows]


def _names(reason: Any, source_person_id: str | None = None) -> set[str]:
    """The lower-cased names a reason knows a person by: source id and email."""
    reason = reason if isinstance(reason, dict) else {}
    found = {reason.get("source_person_id"), reason.get("email"), source_person_id}
    return {str(name).lower() for name in found if name}


def person_ids(connection: Connection, who: str) -> tuple[set[str], set[str]]:
    """``(dynamics_ids, source_ids)`` of the person known as ``who``: a Dynamics id, a source id or an email.

    ``who`` itself is kept in both sets, so a source id that only ever qualified still finds its history.
    """
    needle = who.strip()
    like = f"%{_escape(needle.lower())}%"
    dynamics, source = {needle}, {needle}
    candidates = [*connection.execute(
        select(memberships.c.person_id, memberships.c.reason, memberships.c.source_person_id).where(or_(
            memberships.c.person_id == needle, memberships.c.source_person_id == needle,
            func.lower(cast(memberships.c.reason, String)).like(like, escape="\\")))
    ).all(), *connection.execute(
        select(events.c.person_id, events.c.reason, events.c.reason).where(or_(
            events.c.person_id == needle, func.lower(cast(events.c.reason, String)).like(like, escape="\\")))
    ).all()]
    for person_id, reason, source_person_id in candidates:
        known = _names(reason, source_person_id if isinstance(source_person_id, str) else None)
        if person_id == needle or needle.lower() in known:
            dynamics.add(person_id)
            from_reason = (reason or {}).get("source_person_id")
            source.update(str(name) for name in (from_reason, source_person_id) if isinstance(name, str))
    return dynamics, source


def person_report(connection: Connection, who: str) -> dict[str, list[Any]]:
    """Everything the ledger holds about one person across campaigns: memberships (drift state included),
    events, qualifications, plan items and failures. Empty lists when nobody is known by ``who``."""
    dynamics, source = person_ids(connection, who)
    planned = sorted(dynamics | {f"new:{source_id}" for source_id in source})
    return {
        "dynamics_ids": sorted(dynamics),
        "source_ids": sorted(source),
        "memberships": _rows(connection, select(memberships).where(memberships.c.person_id.in_(sorted(dynamics)))
                             .order_by(memberships.c.campaign_key)),
        "events": _rows(connection, select(events.c.campaign_key, *EVENT_COLUMNS)
                        .where(events.c.person_id.in_(sorted(dynamics))).order_by(events.c.event_id.desc())),
        "qualifications": _rows(connection, select(qualification_history)
                                .where(qualification_history.c.person_id.in_(sorted(source)))
                                .order_by(qualification_history.c.qualified_at.desc())),
        "plan_items": _rows(connection, select(run_plans.c.campaign_key, run_plans.c.run_id, run_plans.c.status,
                                               run_plans.c.interval_end, plan_items.c.person_id,
                                               plan_items.c.member_type, plan_items.c.action, plan_items.c.reason)
                            .join(run_plans, run_plans.c.plan_id == plan_items.c.plan_id)
                            .where(plan_items.c.person_id.in_(planned))
                            .order_by(run_plans.c.created_at.desc())),
        "failures": _rows(connection, select(failures).where(failures.c.person_id.in_(planned))
                          .order_by(failures.c.recorded_at.desc())),
    }


def _rows(connection: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(query)]
