"""Behaviour and inactivity filters as per-person counts: one grouped subquery per filter.

``SELECT person_id, count(*) AS n FROM activities WHERE activity_type = :type AND <window> AND <where>
GROUP BY person_id``. The window is ``start <= occurred_at < end`` (as-of: never past the interval end);
``where`` constraints read their own column or a key of the JSON ``attributes``. Rows without a person
id are grouped too, so the filter's total (``activity_rows_read``) counts them, but they join no person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.qualification.compiler.conditions import condition_clause
from dynamics_campaign_sync.qualification.compiler.dialects import Dialect
from dynamics_campaign_sync.qualification.compiler.value_lists import listed_clauses
from dynamics_campaign_sync.qualification.contract import ACTIVITY_TYPE, ATTRIBUTES, OCCURRED_AT, PERSON_ID
from dynamics_campaign_sync.qualification.pushdown import comparable_timestamp, timestamp_literal
from dynamics_campaign_sync.spec.models import BehaviourFilter, InactivityFilter


def attribute(table: sa.Table, name: str, dialect: Dialect) -> ColumnElement[Any]:
    """An activity attribute: its own column, else the key of the JSON ``attributes`` (else NULL)."""
    if name in table.columns:
        return table.c[name]
    if ATTRIBUTES in table.columns:
        return dialect.json_key(table.c[ATTRIBUTES], name)
    return sa.null()


def needs_json(flt: BehaviourFilter | InactivityFilter, table: sa.Table) -> bool:
    return any(c.field not in table.columns for c in flt.where) and ATTRIBUTES in table.columns


def window_clauses(table: sa.Table, start: dt.datetime | None, end: dt.datetime, dialect: Dialect
                   ) -> list[ColumnElement[bool]]:
    """``start <= occurred_at < end`` in the column's own type (text on SQLite), so indexes serve it."""
    occurred = table.c[OCCURRED_AT]
    moment = comparable_timestamp(occurred, dialect.name)
    where = [moment < timestamp_literal(occurred, end, dialect.name)]
    if start is not None:
        where.append(moment >= timestamp_literal(occurred, start, dialect.name))
    return where


def counts_query(
    flt: BehaviourFilter | InactivityFilter, table: sa.Table, bounds: tuple[dt.datetime, dt.datetime],
    dialect: Dialect, listed: Mapping[int, Sequence[Any]] | None = None,
) -> sa.Select[Any]:
    """``(person_id, n)``: the filter's matching activities per person (``listed``: see ``activity_clauses``)."""
    person = table.c[PERSON_ID]
    return sa.select(person.label(PERSON_ID), sa.func.count().label("n")).where(
        *activity_clauses(flt, table, bounds, dialect, listed)).group_by(person)


def activity_clauses(flt: BehaviourFilter | InactivityFilter, table: sa.Table,
                     bounds: tuple[dt.datetime, dt.datetime], dialect: Dialect,
                     listed: Mapping[int, Sequence[Any]] | None = None) -> list[ColumnElement[bool]]:
    """The activity rows the filter counts: its type, window and ``where`` constraints. ``listed``: by a
    constraint's position, the values of its column it holds for (see ``value_lists``), tested instead."""
    start, end = flt.bounds(*bounds)
    where = [table.c[ACTIVITY_TYPE] == flt.activity, *window_clauses(table, start, end, dialect)]
    listed = listed or {}
    return [*where, *listed_clauses(table, flt.where, listed, dialect),
            *(condition_clause(attribute(table, c.field, dialect), c, bounds[1], dialect)
              for position, c in enumerate(flt.where) if position not in listed)]


def matches(flt: BehaviourFilter | InactivityFilter, count: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether a person's count (0 without activity) satisfies min/max times, or none for inactivity."""
    if isinstance(flt, InactivityFilter):
        return count == 0
    clause = count >= flt.min_times
    return sa.and_(clause, count <= flt.max_times) if flt.max_times is not None else clause
