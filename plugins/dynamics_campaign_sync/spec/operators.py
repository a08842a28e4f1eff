"""Filter operators and the values they accept.

One vocabulary serves demographic filters (people columns) and the attribute
constraints of behaviour filters (activity columns). This module only decides
what a condition *means* — which kind of comparison it makes and which values
are valid — so that the vectorized evaluator (``masks``), the SQL pushdown
(``pushdown``) and the spec validation all agree on one definition.

Semantics (Marketo's smart-list operators, see the package README):

* Text comparisons are case-insensitive. ``is``/``in`` and the text operators
  accept one value or a list (any of them matches).
* Negative operators (``is_not``, ``not_in``, ``not_contains``,
  ``is_not_empty``) are the exact complement of their positive twin, so an
  empty (NULL) value matches ``is_not`` and ``not_contains``.
* Ordered comparisons (``gt`` … ``between``, ``in_past``) never match NULL.
* A date value means the whole UTC day: ``is 2026-05-01`` matches any time on
  that day, ``gt 2026-05-01`` starts on 2026-05-02, ``between`` includes both
  days. A datetime value is an instant.
* ``in_past: N`` matches ``as_of - N days <= value < as_of``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from dynamics_campaign_sync.spec.messages import not_one_of
from dynamics_campaign_sync.utc import to_utc


class Operator(StrEnum):
    """The operators a condition may use."""

    IS = "is"
    IS_NOT = "is_not"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IN_PAST = "in_past"


class ValueKind(StrEnum):
    """How a condition compares: decided by the type of the spec's value."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DAY = "day"  # a calendar date: the whole UTC day
    INSTANT = "instant"  # a datetime
    DAYS = "days"  # in_past: a number of days before as-of
    NONE = "none"  # is_empty / is_not_empty take no value


#: Each negative operator and the positive operator it complements.
NEGATION: dict[Operator, Operator] = {
    Operator.IS_NOT: Operator.IS,
    Operator.NOT_IN: Operator.IN,
    Operator.NOT_CONTAINS: Operator.CONTAINS,
    Operator.IS_NOT_EMPTY: Operator.IS_EMPTY,
}

EQUALITY = frozenset({Operator.IS, Operator.IN})
TEXT_ONLY = frozenset({Operator.CONTAINS, Operator.STARTS_WITH, Operator.ENDS_WITH})
ORDERED = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})
TEMPORAL_KINDS = frozenset({ValueKind.DAY, ValueKind.INSTANT})

ONE_MICROSECOND = dt.timedelta(microseconds=1)
ONE_DAY = dt.timedelta(days=1)


class ConditionValueError(ValueError):
    """A value does not fit its operator; the message says what is expected."""


def parse_operator(raw: object) -> Operator:
    """Return the operator named by ``raw`` or raise with the list of valid names."""
    if isinstance(raw, Operator):
        return raw
    try:
        return Operator(str(raw))
    except ValueError:
        raise ConditionValueError(not_one_of(raw, [op.value for op in Operator])) from None


def positive(operator: Operator) -> Operator:
    """The positive twin of a negative operator (the operator itself otherwise)."""
    return NEGATION.get(operator, operator)


def is_negative(operator: Operator) -> bool:
    return operator in NEGATION


def temporal_bounds(value: dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The half-open UTC interval ``[lo, hi)`` a date or datetime value stands for."""
    if isinstance(value, dt.datetime):
        instant = to_utc(value)
        return instant, instant + ONE_MICROSECOND
    start = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return start, start + ONE_DAY


def kind_of(value: object) -> ValueKind:
    """The comparison kind a single spec value asks for."""
    if isinstance(value, bool):
        return ValueKind.BOOLEAN
    if isinstance(value, int | float):
        return ValueKind.NUMBER
    if isinstance(value, dt.datetime):
        return ValueKind.INSTANT
    if isinstance(value, dt.date):
        return ValueKind.DAY
    if isinstance(value, str):
        return ValueKind.TEXT
    raise ConditionValueError(f"unsupported value {value!r} ({type(value).__name__})")


def _parse_temporal_text(value: str) -> dt.date | dt.datetime | None:
    """Read an ISO date or datetime written as a quoted string; None if it is not one."""
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _as_list(raw: object) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    return [raw]


def _ordered_scalar(raw: object, operator: Operator) -> Any:
    """A number or a date/datetime for ordered operators (ISO strings are read as dates)."""
    if isinstance(raw, str):
        parsed = _parse_temporal_text(raw)
        if parsed is None:
            raise ConditionValueError(f"{operator.value} needs a number or a date, got {raw!r}")
        raw = parsed
    if isinstance(raw, bool) or not isinstance(raw, int | float | dt.date):
        raise ConditionValueError(f"{operator.value} needs a number or a date, got {raw!r}")
    if isinstance(raw, dt.datetime):
        return to_utc(raw)
    return raw


def _check_same_kind(values: Sequence[Any], operator: Operator) -> ValueKind:
    kinds = {kind_of(v) for v in values}
    if len(kinds) > 1:
        names = ", ".join(sorted(k.value for k in kinds))
        raise ConditionValueError(f"{operator.value} values must all be of one type, got {names}")
    return kinds.pop()


def normalize_value(operator: Operator, raw: object) -> Any:
    """Check ``raw`` against ``operator`` and return it in canonical form.

    Lists become tuples, datetimes become UTC, ISO strings given to ordered
    operators become dates. Raises :class:`ConditionValueError` with a message
    meant for the person who wrote the spec.
    """
    if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        if raw is not None:
            raise ConditionValueError(f"{operator.value} takes no value, got {raw!r}")
        return None
    if raw is None:
        raise ConditionValueError(f"{operator.value} needs a value")
    if operator is Operator.IN_PAST:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            raise ConditionValueError(f"in_past needs a positive whole number of days, got {raw!r}")
        return raw
    if operator in ORDERED:
        if isinstance(raw, list | tuple):
            raise ConditionValueError(f"{operator.value} takes a single value, got a list")
        return _ordered_scalar(raw, operator)
    if operator is Operator.BETWEEN:
        if not isinstance(raw, list | tuple) or len(raw) != 2:
            raise ConditionValueError(f"between needs a list of two values [low, high], got {raw!r}")
        low, high = (_ordered_scalar(v, operator) for v in raw)
        if (kind_of(low) in TEMPORAL_KINDS) != (kind_of(high) in TEMPORAL_KINDS):
            raise ConditionValueError("between needs two numbers or two dates")
        if _sort_key(low) > _sort_key(high):
            raise ConditionValueError(f"between needs low <= high, got [{low}, {high}]")
        return (low, high)
    values = _as_list(raw)
    if not values:
        raise ConditionValueError(f"{operator.value} needs at least one value")
    for value in values:
        if value is None or isinstance(value, list | tuple | dict):
            raise ConditionValueError(f"{operator.value} values must be plain values, got {value!r}")
        if isinstance(value, str) and value == "":
            raise ConditionValueError(
                f"{operator.value} does not take an empty string: use is_empty / is_not_empty"
            )
    kind = _check_same_kind(values, operator)
    if positive(operator) in TEXT_ONLY and kind is not ValueKind.TEXT:
        raise ConditionValueError(f"{operator.value} needs text, got {values[0]!r}")
    if kind is ValueKind.INSTANT:
        values = [to_utc(v) for v in values]
    return tuple(values)


def _sort_key(value: Any) -> Any:
    if isinstance(value, dt.date):
        return temporal_bounds(value)[0]
    return value


def value_kind(operator: Operator, value: Any) -> ValueKind:
    """The comparison kind of an already normalized condition."""
    if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        return ValueKind.NONE
    if operator is Operator.IN_PAST:
        return ValueKind.DAYS
    first = value[0] if isinstance(value, tuple) else value
    return kind_of(first)


def values_of(value: Any) -> tuple[Any, ...]:
    """A normalized value as a tuple (scalars become one-element tuples)."""
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (value,)
