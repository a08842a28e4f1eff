"""Filter operators and the values they accept.

One vocabulary serves demographic filters (people columns) and the attribute
constraints of behaviour filters (activity columns). This module only decides
what a condition *means* — which kind of comparison it makes and which values
are valid — so that the vectorized evaluator (``masks``), the SQL compiler
(``compiler.conditions``), the OData pushdown and the spec validation all agree
on one definition.

Semantics (Marketo's smart-list operators, see the README's spec reference):

* Text comparisons are case-insensitive. ``is``/``in`` and the text operators
  accept one value or a list (any of them matches).
* Negative operators (``is_not``, ``not_in``, ``not_contains``,
  ``is_not_empty``) are the exact complement of their positive twin, so an
  empty (NULL) value matches ``is_not`` and ``not_contains``.
* Ordered comparisons (``gt`` … ``between``, the date operators below) never
  match an empty value, unless a date filter says ``empty_dates: match``
  (Marketo's behaviour for ``before``, ``on or before`` and ``in past before``).
* A date value means the whole UTC day: ``is 2026-05-01`` matches any time on
  that day, ``gt 2026-05-01`` starts on 2026-05-02, ``between`` includes both
  days. A datetime value is an instant, and so is an as-of anchor (``as_of``,
  ``"30 days before as_of"``; see ``relative_dates``).
* ``after``/``before``/``on_or_after``/``on_or_before`` are Marketo's names of
  ``gt``/``lt``/``gte``/``lte`` on dates.
* Relative to the as-of instant (the interval end) with a duration ``D``:
  ``in_past: D`` is ``[as_of - D, as_of)``, ``in_past_before: D`` is
  ``< as_of - D``, ``in_future: D`` is ``[as_of, as_of + D)`` and
  ``in_future_after: D`` is ``>= as_of + D``, so the four split the time line.
  ``in_time_frame: last_month`` is that calendar period, ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from dynamics_campaign_sync.spec.messages import not_one_of
from dynamics_campaign_sync.spec.relative_dates import (
    Anchor,
    Duration,
    RelativeDateError,
    TimeFrame,
    anchor_instant,
    frame_bounds,
    parse_anchor,
    parse_duration,
    parse_time_frame,
)
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
    IN_PAST_BEFORE = "in_past_before"
    IN_FUTURE = "in_future"
    IN_FUTURE_AFTER = "in_future_after"
    IN_TIME_FRAME = "in_time_frame"
    AFTER = "after"
    BEFORE = "before"
    ON_OR_AFTER = "on_or_after"
    ON_OR_BEFORE = "on_or_before"


class ValueKind(StrEnum):
    """How a condition compares: decided by the type of the spec's value."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DAY = "day"  # a calendar date: the whole UTC day
    INSTANT = "instant"  # a datetime
    RELATIVE = "relative"  # an as-of anchor, a duration from as-of or a calendar time frame
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
#: Marketo's date words and the comparison each one is.
DATE_WORDS: dict[Operator, Operator] = {
    Operator.AFTER: Operator.GT,
    Operator.BEFORE: Operator.LT,
    Operator.ON_OR_AFTER: Operator.GTE,
    Operator.ON_OR_BEFORE: Operator.LTE,
}
ORDERED = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE, *DATE_WORDS})
#: Operators whose value is a duration from as-of.
DURATIONS = frozenset({Operator.IN_PAST, Operator.IN_PAST_BEFORE, Operator.IN_FUTURE, Operator.IN_FUTURE_AFTER})
#: Operators that place values in order: text there is an unreadable value, not a mismatch.
ORDERING = ORDERED | DURATIONS | {Operator.BETWEEN, Operator.IN_TIME_FRAME}
#: Operators that may also match empty dates (``empty_dates: match``), as Marketo's date filters do.
EMPTY_DATES_OPERATORS = frozenset({Operator.LT, Operator.LTE, Operator.BEFORE, Operator.ON_OR_BEFORE,
                                   Operator.IN_PAST_BEFORE})
TEMPORAL_KINDS = frozenset({ValueKind.DAY, ValueKind.INSTANT, ValueKind.RELATIVE})

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
    if isinstance(value, Anchor | Duration | TimeFrame):
        return ValueKind.RELATIVE
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
    """A number, a date/datetime or an as-of anchor for ordered operators (ISO strings are read as dates)."""
    dates_only = operator in DATE_WORDS
    expected = ("a date" if dates_only else "a number or a date") + (
        " (or an as-of anchor: as_of, '30 days before as_of')")
    if isinstance(raw, str):
        try:
            parsed: Any = parse_anchor(raw) or _parse_temporal_text(raw)
        except RelativeDateError as error:
            raise ConditionValueError(f"{operator.value}: {error}") from None
        if parsed is None:
            raise ConditionValueError(f"{operator.value} needs {expected}, got {raw!r}")
        raw = parsed
    if isinstance(raw, Anchor):
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float | dt.date) or (
            dates_only and not isinstance(raw, dt.date)):
        raise ConditionValueError(f"{operator.value} needs {expected}, got {raw!r}")
    if isinstance(raw, dt.datetime):
        return to_utc(raw)
    return raw


def _check_same_kind(values: Sequence[Any], operator: Operator) -> ValueKind:
    kinds = {kind_of(v) for v in values}
    if len(kinds) > 1:
        names = ", ".join(sorted(k.value for k in kinds))
        raise ConditionValueError(f"{operator.value} values must all be of one type, got {names}")
    return kinds.pop()


def normalize_value(operator: Operator, raw: object, timezone: str | None = None) -> Any:
    """Check ``raw`` against ``operator`` and return it in canonical form.

    Lists become tuples, datetimes become UTC, ISO strings given to ordered
    operators become dates (or as-of anchors), durations and time frames their
    ``relative_dates`` values (a time frame in ``timezone``, UTC by default).
    Raises :class:`ConditionValueError` with a message meant for the person who
    wrote the spec.
    """
    if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        if raw is not None:
            raise ConditionValueError(f"{operator.value} takes no value, got {raw!r}")
        return None
    if raw is None:
        raise ConditionValueError(f"{operator.value} needs a value")
    try:
        if operator in DURATIONS:
            return parse_duration(raw, operator.value)
        if operator is Operator.IN_TIME_FRAME:
            return parse_time_frame(raw, timezone)
    except RelativeDateError as error:
        raise ConditionValueError(str(error)) from None
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
        if isinstance(low, Anchor) == isinstance(high, Anchor) and _sort_key(low) > _sort_key(high):
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
    if isinstance(value, Anchor):
        return value.sign * value.duration.delta if value.duration else dt.timedelta(0)
    if isinstance(value, dt.date):
        return temporal_bounds(value)[0]
    return value


def value_kind(operator: Operator, value: Any) -> ValueKind:
    """The comparison kind of an already normalized condition."""
    if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        return ValueKind.NONE
    if operator in DURATIONS or operator is Operator.IN_TIME_FRAME:
        return ValueKind.RELATIVE
    first = value[0] if isinstance(value, tuple) else value
    return kind_of(first)


def values_of(value: Any) -> tuple[Any, ...]:
    """A normalized value as a tuple (scalars become one-element tuples)."""
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (value,)


Range = tuple[dt.datetime | None, dt.datetime | None]


def _instants(value: Any, as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[lo, hi)`` a date, a datetime or an as-of anchor stands for."""
    if isinstance(value, Anchor):
        instant = anchor_instant(value, as_of)
        return instant, instant + ONE_MICROSECOND
    return temporal_bounds(value)


def match_ranges(operator: Operator, value: Any, as_of: dt.datetime) -> list[Range]:
    """The UTC instants a positive date operator matches, as half-open ``[low, high)`` ranges (None: open),
    for an evaluation as of ``as_of``; empty values aside."""
    operator = DATE_WORDS.get(operator, operator)
    if operator in DURATIONS:
        delta = value.delta
        return [{Operator.IN_PAST: (as_of - delta, as_of), Operator.IN_PAST_BEFORE: (None, as_of - delta),
                 Operator.IN_FUTURE: (as_of, as_of + delta), Operator.IN_FUTURE_AFTER: (as_of + delta, None),
                 }[operator]]
    if operator is Operator.IN_TIME_FRAME:
        return [frame_bounds(value, as_of)]
    if operator is Operator.BETWEEN:
        return [(_instants(value[0], as_of)[0], _instants(value[1], as_of)[1])]
    if operator in (Operator.IS, Operator.IN):
        return [temporal_bounds(item) for item in values_of(value)]
    low, high = _instants(value, as_of)
    return [{Operator.GT: (high, None), Operator.GTE: (low, None), Operator.LT: (None, low),
             Operator.LTE: (None, high)}[operator]]
