"""The spec's logic expression over the compiled filter clauses, and the behaviour candidates.

``1 and (2 or not 3)`` becomes the same tree of ``AND``/``OR``/``NOT`` over each filter's NULL-free
clause. When no one matching no behaviour filter can qualify (see ``qualifies_without_behaviour``), only
people with a behaviour match are candidates: the query starts from their ids, as a hand-written query
would, instead of joining every person.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.spec.logic import And, Node, Not, Ref


def logic_clause(node: Node, clauses: Mapping[int, ColumnElement[bool]]) -> ColumnElement[bool]:
    if isinstance(node, Ref):
        return clauses[node.number]
    if isinstance(node, Not):
        return sa.not_(logic_clause(node.operand, clauses))
    parts = [logic_clause(operand, clauses) for operand in node.operands]
    return sa.and_(*parts) if isinstance(node, And) else sa.or_(*parts)
