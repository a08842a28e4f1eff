"""The spec's logic expression over the compiled filter clauses, and the order a row store tests them in.

``1 and (2 or not 3)`` becomes the same tree of ``AND``/``OR``/``NOT`` over each filter's clause; a
clause may be NULL where it does not hold (see ``conditions``), so what a ``NOT`` negates is made NULL-free.
When no one matching no behaviour filter can qualify (see ``qualifies_without_behaviour``), only people
with a behaviour match are candidates: the query starts from their ids, as a hand-written query would,
instead of joining every person.

A row store tests the operands of an ``AND``/``OR`` in the order written and stops at the first that
decides; PostgreSQL orders by cost only the conditions at the top of a ``WHERE``, and the compiled
condition sits inside an ``OR`` with the rows to report. So operands are written cheapest first
(:func:`cheapest_first`), the order a planner gives a hand-written query's ``WHERE``: ``company_size >=
200`` before ``lower(country) IN (…15 names…)``. SQL's ``AND``/``OR`` have no order of their own, so the
answer is the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Exists, ScalarSelect
from sqlalchemy.sql.visitors import iterate

from dynamics_campaign_sync.qualification.compiler.conditions import null_free
from dynamics_campaign_sync.spec.logic import And, Node, Not, Ref

#: What a subquery costs against one operator (PostgreSQL's planner weighs a hashed subplan about so).
_SUBQUERY_COST = 100.0
_PATTERN_OPERATORS = frozenset({operators.like_op, operators.not_like_op, operators.ilike_op,
                                operators.not_ilike_op, operators.regexp_match_op, operators.not_regexp_match_op})


def logic_clause(node: Node, clauses: Mapping[int, ColumnElement[bool]], ordered: bool = False
                 ) -> ColumnElement[bool]:
    """The logic tree over ``clauses``; with ``ordered``, each ``AND``/``OR`` lists its operands cheapest first."""
    if isinstance(node, Ref):
        return clauses[node.number]
    if isinstance(node, Not):
        return sa.not_(null_free(logic_clause(node.operand, clauses, ordered)))
    parts = [logic_clause(operand, clauses, ordered) for operand in node.operands]
    if ordered:
        parts = cheapest_first(parts)
    return sa.and_(*parts) if isinstance(node, And) else sa.or_(*parts)


def possibly_true_clause(node: Node, known: Mapping[int, ColumnElement[bool] | bool]) -> ColumnElement[bool] | None:
    """Where some values of the filters missing from ``known`` make the tree true: the SQL of
    ``qualification.logic.possibly_true``, which the pandas evaluator reads its candidates with (each node as
    "can be true", "can be false"; a filter missing from ``known`` can be either; ``True``: matched by every row
    tested, such as a required filter's joined people). None: everywhere."""
    return _possible(node, known)[0]


def _possible(node: Node, known: Mapping[int, ColumnElement[bool] | bool]
              ) -> tuple[ColumnElement[bool] | None, ColumnElement[bool] | None]:
    """(can be true, can be false) of ``node``, None for "always"."""
    if isinstance(node, Ref):
        if node.number not in known:
            return None, None
        clause = known[node.number]
        if clause is True or clause is False:
            return (None, sa.false()) if clause else (sa.false(), None)
        return clause, sa.not_(null_free(clause))
    if isinstance(node, Not):
        can_true, can_false = _possible(node.operand, known)
        return can_false, can_true
    parts = [_possible(operand, known) for operand in node.operands]
    trues, falses = [part[0] for part in parts], [part[1] for part in parts]
    if isinstance(node, And):
        return _all(trues), _any(falses)
    return _any(trues), _all(falses)


def _all(clauses: list[ColumnElement[bool] | None]) -> ColumnElement[bool] | None:
    """The ``AND`` of ``clauses``, where None (always) drops out; None if all are."""
    present = [clause for clause in clauses if clause is not None]
    return sa.and_(*present) if present else None


def _any(clauses: list[ColumnElement[bool] | None]) -> ColumnElement[bool] | None:
    """The ``OR`` of ``clauses``; None (always) if any is."""
    present = [clause for clause in clauses if clause is not None]
    return sa.or_(*present) if len(present) == len(clauses) else None


def cheapest_first(clauses: Iterable[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """``clauses`` by estimated cost per row, cheapest first (a stable sort: equal costs keep their order)."""
    return sorted(clauses, key=estimated_cost)


def estimated_cost(clause: ColumnElement[Any]) -> float:
    """Operators and function calls a row store evaluates for ``clause`` on one row, as PostgreSQL's planner
    counts them: one per function or comparison, half per value of an ``IN`` list (searched on average half
    way), two per pattern match, a hundred per subquery. A column, a constant or ``IS NULL`` costs nothing."""
    cost = 0.0
    for element in iterate(clause):
        if isinstance(element, Exists | ScalarSelect):
            cost += _SUBQUERY_COST
        elif isinstance(element, FunctionElement):
            cost += 1
        elif isinstance(element, BinaryExpression) and element.operator not in (operators.is_, operators.is_not):
            if element.operator in _PATTERN_OPERATORS:
                cost += 2
            elif isinstance(element.right, BindParameter) and element.right.expanding:
                cost += 1 + len(element.right.value or ()) / 2
            else:
                cost += 1
    return cost
