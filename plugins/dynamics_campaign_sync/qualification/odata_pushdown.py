"""Translating the spec's demographic filters into a Dataverse ``$filter``, so Dynamics sends fewer people.

The filter is a *necessary* condition (see ``PeopleHint``): every person who qualifies passes it, and the
evaluator applies every filter exactly afterwards. A condition becomes OData only where Dataverse answers at
least the people the evaluator would match, judged by the column's attribute type:

* exact: numbers on number and choice columns, booleans on yes/no columns, ``is``/``in`` GUIDs on lookups,
  ``is_empty``/``is_not_empty`` on non-text columns. Exact clauses may be negated (``is_not``, ``not 3``).
* at least (a superset): text operators with ASCII values on text columns — Dataverse compares text through its
  collation, case- and accent-insensitively and ignoring trailing spaces, so it may send a few more people;
  ``%``, ``_`` and ``[`` are wildcards in its ``contains``/``startswith``/``endswith``, so values holding them
  stay local. Dates on date-time columns, widened to whole seconds. A superset is never negated: ``is_not``,
  ``not_in`` and ``not_contains`` on text stay local.

Every clause is NULL-free (``col ne null and ...``), so a negation keeps the evaluator's meaning (negative
operators match empty values). Values are OData literals (quotes doubled; ``In`` takes a JSON array).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from dynamics_campaign_sync.dataverse.odata import string_literal
from dynamics_campaign_sync.spec.logic import And, Node, Not, Or, Ref
from dynamics_campaign_sync.spec.models import Condition
from dynamics_campaign_sync.spec.operators import (
    ORDERED,
    Operator,
    ValueKind,
    is_negative,
    match_ranges,
    positive,
    value_kind,
    values_of,
)

TEXT_TYPES = frozenset({"String", "Memo"})
NUMBER_TYPES = frozenset({"Integer", "BigInt", "Decimal", "Double", "Money", "Picklist", "State", "Status"})
GUID_TYPES = frozenset({"Lookup", "Owner", "Customer", "Uniqueidentifier"})
#: Characters Dataverse's string functions read as wildcards (SQL ``LIKE``).
_WILDCARDS = frozenset("%_[")
#: Longest ``$filter`` sent; beyond it the read is unfiltered (URLs have limits, 32 KB in Dataverse).
MAX_FILTER_LENGTH = 8_000
_STRING_FUNCTIONS = {Operator.CONTAINS: "contains", Operator.STARTS_WITH: "startswith",
                     Operator.ENDS_WITH: "endswith"}
_COMPARISONS = {Operator.GT: "gt", Operator.GTE: "ge", Operator.LT: "lt", Operator.LTE: "le"}

Clause = tuple[str, bool]  # (OData text, whether it is exactly the condition)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return string_literal(str(value))


def _in(column: str, values: tuple[Any, ...]) -> str:
    if len(values) == 1:
        return f"{column} eq {_literal(values[0])}"
    return (f"Microsoft.Dynamics.CRM.In(PropertyName={string_literal(column)},"
            f"PropertyValues={json.dumps([str(v) for v in values])})")


def _not_null(column: str, clause: str) -> str:
    return f"({column} ne null and ({clause}))"


def instant_literal(value: dt.datetime, *, up: bool) -> str:
    """A UTC timestamp literal on a whole second (Dataverse keeps seconds), rounded outwards."""
    seconds = value.timestamp()
    whole = math.ceil(seconds) if up else math.floor(seconds)
    return dt.datetime.fromtimestamp(whole, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_clause(column: str, condition: Condition, operator: Operator, as_of: dt.datetime) -> str:
    parts = []
    for low, high in match_ranges(operator, condition.value, as_of):
        bounds = ([f"{column} ge {instant_literal(low, up=False)}"] if low is not None else []) + (
            [f"{column} lt {instant_literal(high, up=True)}"] if high is not None else [])
        parts.append(" and ".join(bounds))
    return " or ".join(f"({part})" for part in parts)


def _number_clause(column: str, operator: Operator, value: Any) -> str:
    if operator in (Operator.IS, Operator.IN):
        return " or ".join(f"{column} eq {_literal(v)}" for v in values_of(value))
    if operator is Operator.BETWEEN:
        return f"{column} ge {_literal(value[0])} and {column} le {_literal(value[1])}"
    return f"{column} {_COMPARISONS[operator]} {_literal(value)}"


def _text_clause(column: str, operator: Operator, values: tuple[Any, ...]) -> str | None:
    texts = [str(v) for v in values]
    if not all(text.isascii() for text in texts):
        return None  # Dataverse and the evaluator may fold other letters differently
    if operator in (Operator.IS, Operator.IN):
        return _in(column, tuple(texts))
    if any(_WILDCARDS & set(text) for text in texts):
        return None
    function = _STRING_FUNCTIONS[operator]
    return " or ".join(f"{function}({column},{string_literal(text)})" for text in texts)


def _guid_clause(column: str, operator: Operator, values: tuple[Any, ...]) -> str | None:
    if operator not in (Operator.IS, Operator.IN):
        return None
    texts = [str(v).lower() for v in values]
    try:
        if any(str(uuid.UUID(text)) != text for text in texts):
            return None  # another spelling of a GUID: the evaluator compares text
    except ValueError:
        return None
    return " or ".join(f"{column} eq {text}" for text in texts)


def condition_clause(condition: Condition, attribute_type: str, as_of: dt.datetime) -> Clause | None:
    """``(OData, exact)`` implied by ``condition`` on a column of ``attribute_type``, or None (stays local)."""
    column, base = condition.field, positive(condition.operator)
    kind = value_kind(base, condition.value)
    text_column = attribute_type in TEXT_TYPES
    clause: str | None = None
    exact = True
    if base is Operator.IS_EMPTY:
        if text_column and not is_negative(condition.operator):
            return None  # blank text is empty too, and Dataverse's '' equality differs on spaces
        return (f"{column} ne null" if is_negative(condition.operator) else f"{column} eq null"), not text_column
    if kind is ValueKind.TEXT and text_column and base is not Operator.BETWEEN and base not in ORDERED:
        clause, exact = _text_clause(column, base, condition.values), False
    elif kind is ValueKind.TEXT and attribute_type in GUID_TYPES:
        clause = _guid_clause(column, base, condition.values)
    elif kind is ValueKind.NUMBER and attribute_type in NUMBER_TYPES:
        clause = _number_clause(column, base, condition.value)
    elif kind is ValueKind.BOOLEAN and attribute_type == "Boolean" and base in (Operator.IS, Operator.IN):
        clause = " or ".join(f"{column} eq {_literal(v)}" for v in condition.values)
    elif kind in (ValueKind.DAY, ValueKind.INSTANT, ValueKind.RELATIVE) and attribute_type == "DateTime":
        clause, exact = _date_clause(column, condition, base, as_of), False
    if clause is None:
        return None
    matched = f"({column} eq null or ({clause}))" if condition.matches_empty else _not_null(column, clause)
    if is_negative(condition.operator):
        return (f"not {matched}", True) if exact else None
    return matched, exact


def people_filter(tree: Node, conditions: Mapping[int, Condition], types: Mapping[str, str],
                  as_of: dt.datetime) -> str | None:
    """The ``$filter`` every qualifying person passes, from the pushable demographic filters (None: read all).

    Unknown parts (activity filters, conditions that stay local) are dropped from an ``and``, which only
    loosens it; an ``or`` over an unknown part gives up, and only an exact part may be negated.
    """
    clause, _ = _implied(tree, conditions, types, as_of)
    return clause if clause is not None and len(clause) <= MAX_FILTER_LENGTH else None


def _implied(node: Node, conditions: Mapping[int, Condition], types: Mapping[str, str],
             as_of: dt.datetime) -> tuple[str | None, bool]:
    if isinstance(node, Ref):
        condition = conditions.get(node.number)
        if condition is None or condition.field not in types:
            return None, False
        found = condition_clause(condition, types[condition.field], as_of)
        return found if found is not None else (None, False)
    if isinstance(node, Not):
        inner, exact = _implied(node.operand, conditions, types, as_of)
        return (f"not ({inner})", True) if exact and inner is not None else (None, False)
    parts = [_implied(operand, conditions, types, as_of) for operand in node.operands]
    clauses = [f"({clause})" for clause, _ in parts if clause is not None]
    exact = all(is_exact for _, is_exact in parts) and len(clauses) == len(parts)
    if isinstance(node, And):
        return (" and ".join(clauses) if clauses else None), exact
    assert isinstance(node, Or)
    return (" or ".join(clauses), exact) if len(clauses) == len(parts) else (None, False)
