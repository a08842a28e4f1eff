"""One condition (``field operator value``) as an SQL clause: TRUE where it holds, FALSE or NULL where not.

The meaning is the evaluator's (``masks``): text comparisons fold case (Unicode), a value of the wrong
kind (text that is no number, no date) matches no positive operator, negative operators are the exact
complement of their positive twin (so they match NULL), a date is the whole UTC day. A positive clause
stays as plain as a hand-written one (``lower(form_name) IN ('free trial')``): a ``WHERE``, an ``AND``, an
``OR`` and a ``CASE WHEN`` read NULL as "does not hold", and only a ``NOT`` needs the clause NULL-free
(negative operators here, ``logic_clause`` for the logic's). A plain clause is what a planner estimates
well and proves a partial index from (``lower(form_name) IN (…)`` implies ``form_name IS NOT NULL``, the
predicate of the contract's attribute indexes); ``coalesce(…, false)`` hides both. On PostgreSQL a text column is
folded in a ``CASE`` (the ASCII path, see ``Dialect.lower``), so its clause says ``form_name IS NOT NULL AND …``
outright, for the same proof.

The same clauses serve demographic filters (people columns) and activity ``where`` constraints (own
columns and JSON attributes), and :func:`unreadable_clause` finds the values that a filter ordering
numbers or dates cannot place (reported as invalid rows).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.qualification.compiler.dialects import Dialect
from dynamics_campaign_sync.qualification.masks import _FALSE_WORDS, _TRUE_WORDS
from dynamics_campaign_sync.qualification.pushdown import is_number_type, text_match
from dynamics_campaign_sync.spec.models import Condition
from dynamics_campaign_sync.spec.operators import (
    ORDERING,
    Operator,
    ValueKind,
    is_negative,
    match_ranges,
    positive,
    values_of,
)

_COMPARE = {Operator.GT: "__gt__", Operator.GTE: "__ge__", Operator.LT: "__lt__", Operator.LTE: "__le__"}


def null_free(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """FALSE where ``clause`` is NULL: what a ``NOT`` of it needs."""
    return sa.func.coalesce(clause, sa.false())


def _text(value: ColumnElement[Any], operator: Operator, values: tuple[Any, ...], dialect: Dialect
          ) -> ColumnElement[bool]:
    wanted = [str(v).lower() for v in values]
    lowered = dialect.lower(value, unicode=not all(v.isascii() for v in wanted))
    clause = text_match(lowered, operator, wanted, pattern_array=dialect.name == "postgresql")
    if dialect.folds_ascii_apart(value):  # what ``lower(value)`` showed the planner: no match where it is NULL
        clause = sa.and_(value.is_not(None), clause)
    return clause


def _number(value: ColumnElement[Any], operator: Operator, expected: Any, dialect: Dialect
            ) -> ColumnElement[bool]:
    number = dialect.number(value)
    whole = isinstance(number.type, sa.Integer)

    def literal(item: Any) -> float | int:  # an integer column compared with integers is not cast per row
        return int(item) if whole and float(item).is_integer() else float(item)

    if operator in (Operator.IS, Operator.IN):
        return number.in_([literal(v) for v in values_of(expected)])
    if operator is Operator.BETWEEN:
        return number.between(literal(expected[0]), literal(expected[1]))
    return getattr(number, _COMPARE[operator])(literal(expected))


def _boolean(value: ColumnElement[Any], expected: Any, dialect: Dialect) -> ColumnElement[bool]:
    number = dialect.number(value)
    word = dialect.lower(value, unicode=False)
    truth = sa.case((number.is_not(None), sa.case((number != 0, 1), else_=0)),
                    (word.in_(sorted(_TRUE_WORDS)), 1), (word.in_(sorted(_FALSE_WORDS)), 0), else_=sa.null())
    return truth.in_(sorted({1 if v else 0 for v in values_of(expected)}))


def _temporal(value: ColumnElement[Any], operator: Operator, expected: Any, as_of: dt.datetime,
              dialect: Dialect) -> ColumnElement[bool]:
    moment = dialect.instant(value)

    def within(low: dt.datetime | None, high: dt.datetime | None) -> ColumnElement[bool]:
        bounds = ([moment >= dialect.instant_literal(low)] if low is not None else []) + (
            [moment < dialect.instant_literal(high)] if high is not None else [])
        return sa.and_(*bounds)

    return sa.or_(*(within(low, high) for low, high in match_ranges(operator, expected, as_of)))


def _empty(value: ColumnElement[Any], dialect: Dialect) -> ColumnElement[bool]:
    return sa.or_(value.is_(None), null_free(dialect.blank(value)))


def positive_clause(value: ColumnElement[Any], condition: Condition, as_of: dt.datetime, dialect: Dialect
                    ) -> ColumnElement[bool]:
    """The positive twin of ``condition`` on ``value`` (NULL where the value is missing or unreadable)."""
    base = positive(condition.operator)
    if base is Operator.IS_EMPTY:
        return _empty(value, dialect)
    kind = condition.kind
    if kind is ValueKind.TEXT:
        clause = _text(value, base, condition.values, dialect)
    elif kind is ValueKind.NUMBER:
        clause = _number(value, base, condition.value, dialect)
    elif kind is ValueKind.BOOLEAN:
        clause = _boolean(value, condition.value, dialect)
    else:
        clause = _temporal(value, base, condition.value, as_of, dialect)
    if condition.matches_empty:  # empty_dates: match
        return sa.or_(_empty(value, dialect), clause)
    return clause


def condition_clause(value: ColumnElement[Any], condition: Condition, as_of: dt.datetime, dialect: Dialect
                     ) -> ColumnElement[bool]:
    """``condition`` on ``value``: negative operators are exact complements (TRUE where the positive twin is
    FALSE or NULL)."""
    clause = positive_clause(value, condition, as_of, dialect)
    return sa.not_(null_free(clause)) if is_negative(condition.operator) else clause


def unreadable_kind(condition: Condition) -> str | None:
    """``not_numeric`` / ``not_a_date`` when the condition orders numbers / dates, else None."""
    if condition.operator not in ORDERING:
        return None
    if condition.kind is ValueKind.NUMBER:
        return "not_numeric"
    if condition.kind in (ValueKind.DAY, ValueKind.INSTANT, ValueKind.RELATIVE):
        return "not_a_date"
    return None


def unreadable_clause(value: ColumnElement[Any], kind: str, dialect: Dialect) -> ColumnElement[bool] | None:
    """Values neither missing, blank nor readable as ``kind`` (None: the column's type rules that out)."""
    if kind == "not_numeric":
        if is_number_type(value):
            return None
        parsed = dialect.number(value)
    else:
        if isinstance(value.type, sa.DateTime | sa.Date) and dialect.name != "sqlite":
            return None
        parsed = dialect.instant(value)
    return null_free(sa.and_(value.is_not(None), parsed.is_(None), sa.not_(null_free(dialect.blank(value)))))
