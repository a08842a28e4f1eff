"""Membership filters as SQL: ``lower(dynamics_id) IN (the list's or campaign sync's ids)``, NULL-free.

The ids are facts gathered before the query (``qualification.memberships``). A few are bound parameters;
a large list (a marketing list of 100,000 people) would exceed the parameter limits of some databases
(SQLite 32,766, PostgreSQL 65,535), so it travels as a ``VALUES`` common table expression of literals,
which every dialect reads as a table and hashes once for the semi-join.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.qualification.compiler.dialects import Dialect

#: Above this many ids a list is a ``VALUES`` table rather than bound parameters.
BOUND_IDS = 500


def membership_clause(dynamics_id: ColumnElement[Any], ids: frozenset[str], name: str, dialect: Dialect
                      ) -> ColumnElement[bool]:
    """Whether the person's Dynamics id is among ``ids`` (lower case); ``name`` names the ids' table."""
    wanted = sorted(ids)
    lowered = dialect.lower(dynamics_id, unicode=not all(i.isascii() for i in wanted))
    if len(wanted) <= BOUND_IDS:
        clause = lowered.in_(wanted)
    else:
        rows = sa.values(sa.column("id", sa.Text), name=name, literal_binds=True).data([(i,) for i in wanted])
        table = rows.cte(name)
        clause = lowered.in_(sa.select(table.c.id))
    return sa.func.coalesce(clause, sa.false())
