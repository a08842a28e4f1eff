"""Translating conditions into SQL so the database returns only the rows that matter.

A condition is pushed down only where SQL gives exactly the answer of the
pandas evaluator (``masks``); anything else stays in pandas:

* text operators on text columns; on SQLite only for ASCII values, because
  SQLite's ``LIKE`` and ``NOCASE`` fold ASCII letters only (PostgreSQL's
  ``lower()`` folds all), and only while ``PRAGMA case_sensitive_like`` is off
  (SQLite's default);
* number operators on numeric columns;
* ``is_empty``/``is_not_empty`` everywhere.

Every clause built here is NULL-free (TRUE or FALSE, never NULL), so ``NOT``
and ``OR`` keep the pandas meaning of negative operators, which match NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.spec.logic import And, Node, Not, Or, Ref
from dynamics_campaign_sync.spec.models import Condition
from dynamics_campaign_sync.spec.operators import (
    Operator,
    ValueKind,
    is_negative,
    positive,
    to_utc,
    value_kind,
    values_of,
)

_TEXT_OPERATORS = frozenset(
    {Operator.IS, Operator.IN, Operator.CONTAINS, Operator.STARTS_WITH, Operator.ENDS_WITH}
)
_NUMBER_OPERATORS = frozenset(
    {Operator.IS, Operator.IN, Operator.GT, Operator.GTE, Operator.LT, Operator.LTE, Operator.BETWEEN}
)


def is_text_type(column: sa.ColumnElement[Any]) -> bool:
    return isinstance(column.type, sa.String)


def is_number_type(column: sa.ColumnElement[Any]) -> bool:
    return isinstance(column.type, sa.Integer | sa.Numeric) and not isinstance(column.type, sa.Boolean)


def timestamp_literal(column: sa.ColumnElement[Any], value: dt.datetime, dialect: str) -> ColumnElement[bool]:
    """A bound UTC timestamp comparable with ``column`` on this dialect.

    SQLite stores text ``YYYY-MM-DD HH:MM:SS[.ffffff]``; binding the same
    shape (fraction only when non-zero) keeps text order equal to time order
    whether or not stored values carry a fraction. Elsewhere a datetime is
    bound, naive UTC for ``timestamp without time zone`` columns.
    """
    utc = to_utc(value)
    if dialect == "sqlite":
        text = utc.strftime("%Y-%m-%d %H:%M:%S") + (f".{utc.microsecond:06d}" if utc.microsecond else "")
        return sa.literal(text, sa.Text)
    if isinstance(column.type, sa.DateTime) and not column.type.timezone:
        return sa.literal(utc.replace(tzinfo=None), sa.DateTime())
    return sa.literal(utc, sa.DateTime(timezone=True))


def comparable_timestamp(column: sa.ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """The column as the timestamp_literal side expects it (raw text on SQLite)."""
    return sa.type_coerce(column, sa.Text) if dialect == "sqlite" else column


def _text_clause(
    column: ColumnElement[Any], operator: Operator, values: tuple[Any, ...], dialect: str
) -> ColumnElement[bool]:
    """Case-insensitive text comparison.

    SQLite compares ASCII case-insensitively with ``LIKE`` and ``COLLATE
    NOCASE`` directly (values are ASCII there), which avoids a ``lower()``
    call per row; elsewhere both sides are lower-cased.
    """
    wanted = [str(v).lower() for v in values]
    if dialect == "sqlite":
        subject: ColumnElement[Any] = column
        if operator in (Operator.IS, Operator.IN):
            return sa.collate(column, "NOCASE").in_(wanted)
    else:
        subject = sa.func.lower(column)
    return text_match(subject, operator, wanted)


def _like(subject: ColumnElement[Any], before: str, value: str, after: str) -> ColumnElement[bool]:
    """``subject LIKE '<before>value<after>'`` as one literal pattern (databases turn ``'%x%'`` into a fast
    substring test, not a pattern built per row); ESCAPE only when the value holds a special character."""
    if not any(character in value for character in "%_/\\"):
        return subject.like(before + value + after)
    escaped = value.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return subject.like(before + escaped + after, escape="/")


def text_match(subject: ColumnElement[Any], operator: Operator, wanted: list[str], *,
               pattern_array: bool = False) -> ColumnElement[bool]:
    """``subject`` (lower-cased text) equal to, containing, starting or ending with any of ``wanted``.
    ``pattern_array`` (PostgreSQL): several patterns as one ``LIKE ANY (ARRAY[…])``, which computes ``subject``
    once, where an ``OR`` of ``LIKE`` computes it again for each pattern."""
    if operator in (Operator.IS, Operator.IN):
        return subject.in_(wanted)
    before, after = {Operator.CONTAINS: ("%", "%"), Operator.STARTS_WITH: ("", "%")}.get(operator, ("%", ""))
    if pattern_array and len(wanted) > 1:
        escaped = (v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for v in wanted)
        return subject.like(sa.any_(postgresql.array([before + v + after for v in escaped])))  # ESCAPE is '\'
    return sa.or_(*(_like(subject, before, v, after) for v in wanted))


def _number_clause(column: ColumnElement[Any], operator: Operator, value: Any) -> ColumnElement[bool]:
    if operator in (Operator.IS, Operator.IN):
        return column.in_(list(values_of(value)))
    if operator is Operator.BETWEEN:
        low, high = value
        return column.between(low, high)
    comparisons = {
        Operator.GT: column > value,
        Operator.GTE: column >= value,
        Operator.LT: column < value,
        Operator.LTE: column <= value,
    }
    return comparisons[operator]


def condition_clause(
    column: sa.ColumnElement[Any], condition: Condition, dialect: str
) -> ColumnElement[bool] | None:
    """The exact, NULL-free SQL for ``condition`` on ``column``, or None if it must stay in pandas."""
    base = positive(condition.operator)
    kind = value_kind(base, condition.value)
    if base is Operator.IS_EMPTY:
        clause = (
            sa.or_(column.is_(None), sa.func.trim(column) == "") if is_text_type(column) else column.is_(None)
        )
        return sa.not_(clause) if is_negative(condition.operator) else clause
    if kind is ValueKind.TEXT and base in _TEXT_OPERATORS and is_text_type(column):
        values = condition.values
        if dialect != "postgresql" and not all(str(v).isascii() for v in values):
            return None
        matched = _text_clause(column, base, values, dialect)
    elif kind is ValueKind.NUMBER and base in _NUMBER_OPERATORS and is_number_type(column):
        matched = _number_clause(column, base, condition.value)
    else:
        return None
    positive_clause = sa.and_(column.is_not(None), matched)
    return sa.not_(positive_clause) if is_negative(condition.operator) else positive_clause


def hint_clause(
    tree: Node,
    conditions: Mapping[int, Condition],
    columns: sa.ColumnCollection[str, Any],
    dialect: str,
) -> ColumnElement[bool] | None:
    """A clause every qualifying person satisfies, built from the pushable demographic filters.

    Unknown parts (behaviour filters, conditions that stay in pandas) are
    dropped where that only loosens the clause: from an ``and`` they are left
    out; an ``or`` or ``not`` over an unknown part gives up.
    """
    clause, _ = _necessary(tree, conditions, columns, dialect)
    return clause


def _necessary(
    node: Node,
    conditions: Mapping[int, Condition],
    columns: sa.ColumnCollection[str, Any],
    dialect: str,
) -> tuple[ColumnElement[bool] | None, bool]:
    """(clause implied by ``node`` or None, whether the clause is exactly ``node``)."""
    if isinstance(node, Ref):
        condition = conditions.get(node.number)
        if condition is None or condition.field not in columns:
            return None, False
        clause = condition_clause(columns[condition.field], condition, dialect)
        return clause, clause is not None
    if isinstance(node, Not):
        inner, exact = _necessary(node.operand, conditions, columns, dialect)
        return (sa.not_(inner), True) if exact and inner is not None else (None, False)
    parts = [_necessary(operand, conditions, columns, dialect) for operand in node.operands]
    clauses = [clause for clause, _ in parts if clause is not None]
    exact = all(is_exact for _, is_exact in parts)
    if isinstance(node, And):
        return (sa.and_(*clauses) if clauses else None), exact and len(clauses) == len(parts)
    assert isinstance(node, Or)
    if len(clauses) != len(parts):
        return None, False
    return sa.or_(*clauses), exact
