"""A condition on an indexed activity attribute as the list of the column's values it holds for (row stores).

``lower(form_name) = 'demo request'`` is no index condition: PostgreSQL reads every form fill in the window
from the contract's ``(activity_type, form_name, occurred_at, person_id)`` index and tests each (``random_12``:
173,000 entries for 20,759 matches, 0.1 s). The column holds few distinct values per activity type (pages,
forms, email programs, payloads), so, before the spec's query, one query lists them by a loose index scan (a
seek per value, ``value_lists.distinct_values_query``) and tests the condition's own compiled clause on each:
a row's value then matches exactly where the clause holds on it. The filter's rows become ``column IN (the
values that hold)``: index ranges on ``(type, value, window)``, read alone.

Not where the clause holds on a missing value (``is_not``, ``is_empty`` …: those rows are not in the index),
nor where a column has more than ``MAX_LISTED_VALUES`` values for the type or is not text, nor without the
index (every step of the loose scan would read the type's rows). PostgreSQL and SQLite only: their text equality
is byte for byte (MariaDB's default collations hold ``e`` and ``é`` equal, so a listed value would stand for
others).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dynamics_campaign_sync.qualification.compiler.conditions import condition_clause
from dynamics_campaign_sync.qualification.compiler.dialects import Dialect
from dynamics_campaign_sync.qualification.compiler.fetch import run_query
from dynamics_campaign_sync.qualification.sql_source import SqlSource
from dynamics_campaign_sync.qualification.value_lists import condition_column, distinct_values_query
from dynamics_campaign_sync.spec.models import BehaviourFilter, CampaignSpec, Condition, InactivityFilter

#: At most this many distinct values of a column per activity type are listed (else the plain clause).
MAX_LISTED_VALUES = 1_000
#: The dialects whose equal texts are the same bytes (see the module's docstring).
LISTING_DIALECTS = frozenset({"postgresql", "sqlite"})

#: (filter number, position of the condition in the filter's ``where``) -> the values the condition holds for
ValueLists = Mapping[tuple[int, int], Sequence[Any]]


@dataclass(frozen=True)
class _Listable:
    number: int
    position: int
    activity: str
    column: str  # the indexed column the condition reads: its own, or the JSON attributes
    condition: Condition


def listable_conditions(spec: CampaignSpec, activities: sa.Table, indexed: Callable[[], Collection[str]]
                        ) -> list[_Listable]:
    """The activity conditions whose column has the attribute index (``indexed``: such columns, asked only where
    the spec has activity conditions: a catalog query)."""
    found = []
    for number, flt in spec.rules.numbered():
        if isinstance(flt, BehaviourFilter | InactivityFilter):
            found += [_Listable(number, position, flt.activity, condition_column(activities, condition), condition)
                      for position, condition in enumerate(flt.where)]
    columns = indexed() if found else ()
    return [listable for listable in found if listable.column in columns and _is_text(activities, listable.column)]


def _is_text(activities: sa.Table, name: str) -> bool:
    """Whether the column holds text compared byte for byte: a value listed from another type (a ``jsonb``
    document read back as a dict) would not be bound back as the same value, and under a collation of the
    column's own (SQLite's ``NOCASE``/``RTRIM``, a nondeterministic ICU one) texts that differ are equal, so a
    listed value would stand for others."""
    if name not in activities.columns:
        return False
    kind = activities.c[name].type
    return isinstance(kind, sa.String) and kind.collation is None


def values_query(listables: Sequence[_Listable], activities: sa.Table, as_of: dt.datetime, dialect: Dialect
                 ) -> sa.CompoundSelect:
    """One row per listable condition and distinct value of its column for its type (at most
    ``MAX_LISTED_VALUES + 1``), plus one with no value: ``(item, value, holds)``, ``item`` the condition's
    position in ``listables``, ``holds`` 1 where the condition's clause holds on the value."""
    seen: dict[tuple[str, str], sa.CTE] = {}
    branches = []
    for item, listable in enumerate(listables):
        key = (listable.activity, listable.column)
        if key not in seen:
            query = distinct_values_query(activities, listable.column, listable.activity, MAX_LISTED_VALUES,
                                          name=f"v{len(seen)}")
            seen[key] = query.cte(f"l{len(seen)}")
        values = seen[key].c.value
        missing = sa.cast(sa.null(), activities.c[listable.column].type)
        for value, source in ((values, seen[key]), (missing, None)):
            read = value if listable.column == listable.condition.field else dialect.json_key(value, listable.condition.field)
            holds = sa.case((condition_clause(read, listable.condition, as_of, dialect), 1), else_=0)
            branch = sa.select(sa.literal(item).label("item"), value.label("value"), holds.label("holds"))
            branches.append(branch.select_from(source) if source is not None else branch)
    return sa.union_all(*branches)


def value_lists(rows: Sequence[tuple[int, Any, int]], listables: Sequence[_Listable]) -> dict[tuple[int, int], list[Any]]:
    """The values each listable condition holds for, from ``values_query``'s rows; a condition is left out
    where it holds on a missing value or its column has too many values."""
    seen = dict.fromkeys(range(len(listables)), 0)  # values listed per condition
    holding: dict[int, list[Any]] = {item: [] for item in range(len(listables))}
    unlisted: set[int] = set()
    for item, value, holds in rows:
        if value is None:
            if holds:
                unlisted.add(item)
            continue
        seen[item] += 1
        if holds:
            holding[item].append(value)
    return {(listable.number, listable.position): holding[item] for item, listable in enumerate(listables)
            if item not in unlisted and seen[item] <= MAX_LISTED_VALUES}


def listed_clauses(activities: sa.Table, conditions: Sequence[Condition], listed: Mapping[int, Sequence[Any]],
                   dialect: Dialect) -> list[sa.ColumnElement[bool]]:
    """The listed ``conditions`` (``listed``: by position, the values each holds for) as one clause per column:
    a row holds for them all where its value is in every list. One list, so the planner estimates the column's
    rows once, not as independent conditions each cutting them again (two conditions on the change documents of
    ``dates_and_changes``: 5,819 rows estimated at one, and the count tables joined by nested loops)."""
    return [_listed_clause(activities.c[name], values, dialect)
            for name, values in _lists_by_column(activities, conditions, listed).items()]


def reads_no_row(activities: sa.Table, conditions: Sequence[Condition], listed: Mapping[int, Sequence[Any]]
                 ) -> bool:
    """Whether the listed ``conditions`` hold for no value their columns hold: the filter counts no activity."""
    return any(not values for values in _lists_by_column(activities, conditions, listed).values())


def _lists_by_column(activities: sa.Table, conditions: Sequence[Condition], listed: Mapping[int, Sequence[Any]]
                     ) -> dict[str, list[Any]]:
    """Per column, the values every listed condition on it holds for."""
    lists: dict[str, list[Any]] = {}
    for position, values in listed.items():
        name = condition_column(activities, conditions[position])
        kept = set(values)
        lists[name] = [value for value in lists[name] if value in kept] if name in lists else list(values)
    return lists


def _listed_clause(column: sa.ColumnElement[Any], values: Sequence[Any], dialect: Dialect
                   ) -> sa.ColumnElement[bool]:
    """The activity rows whose ``column`` value is among ``values``.

    On PostgreSQL the values are an array the query computes once (``= ANY (CAST((SELECT :values) AS text[]))``),
    still an index condition: a literal list is estimated value by value as if independent of the activity type,
    which the values of a type's documents are not (the change documents of ``dates_and_changes``: 7,516 rows
    estimated at one, the count tables then joined by nested loops, 1.2 s → 8.9 s). An array unknown to the
    planner is estimated from the column's number of distinct values: an estimate too high at worst, which costs
    a hash join, not a loop. ``IS NOT NULL`` outright: the planner proves the partial index from it, not from an
    unknown array."""
    if not values:
        return sa.false()
    if dialect.name != "postgresql":
        return column.in_(list(values))
    array_type = postgresql.ARRAY(column.type)
    array = sa.select(sa.bindparam(None, list(values), type_=array_type)).scalar_subquery()
    return sa.and_(column.is_not(None), column == sa.any_(sa.cast(array, array_type)))


def listed_values(spec: CampaignSpec, source: SqlSource, as_of: dt.datetime, dialect: Dialect) -> ValueLists:
    """The activity conditions on an indexed column as the values they hold for: one query, on the dialects
    that list, where the spec has such conditions. Its casts are guarded whatever the dialect's first try
    (``evaluate._compiled_rows``): it reads a value per distinct document, not per row."""
    if dialect.name not in LISTING_DIALECTS:
        return {}
    activities = source.tables[1]
    listables = listable_conditions(spec, activities, lambda: source.indexed_attributes)
    if not listables:
        return {}
    rows = run_query(source.engine, values_query(listables, activities, as_of, dialect))
    return value_lists(list(zip(rows.integers("item").tolist(), rows.column("value").tolist(),
                                rows.integers("holds").tolist(), strict=True)), listables)


def lists_for(listed: ValueLists | None, number: int) -> dict[int, Sequence[Any]]:
    """The value lists of filter ``number``, by condition position."""
    return {position: values for (filter_number, position), values in (listed or {}).items()
            if filter_number == number}
