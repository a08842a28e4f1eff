"""Conditions on an indexed attribute column, answered as the list of the column's matching values.

``page_url contains /pricing`` cannot use an index (``LIKE '%…%'``), so the
plain pushdown reads every activity of the type in the window and tests it.
Attribute columns hold few distinct values per activity type (pages, forms,
email programs, JSON payloads), so when the column has the recommended index
led by ``(activity_type, column)`` (``contract.attribute_index``):

1. its distinct values for the type are listed by a loose index scan, one
   index seek per distinct value, however many rows there are;
2. the condition is tested on those values with the pandas evaluator
   (``masks``), which defines its meaning, so the answer is exact for every
   operator and value, ASCII or not;
3. the query asks for ``column IN (matching values)``: the database seeks to
   each value's window in the index and reads only matching rows, from the
   index alone.

A condition that matches a missing value (``is_not``, ``is_empty`` …) or a
column with too many distinct values keeps the plain pushdown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dynamics_campaign_sync.lazy_exports import lazy_module
from dynamics_campaign_sync.qualification.contract import ACTIVITY_TYPE, ATTRIBUTES
from dynamics_campaign_sync.qualification.json_attributes import extract_attribute
from dynamics_campaign_sync.qualification.masks import ColumnValues, condition_mask
from dynamics_campaign_sync.spec.models import Condition

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


def indexed_attribute_columns(indexes: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Columns that follow ``activity_type`` at the head of an index (reflected index descriptions)."""
    columns = set()
    for index in indexes:
        names = list(index.get("column_names") or ())
        if len(names) >= 2 and names[0] == ACTIVITY_TYPE and names[1] is not None:
            columns.add(names[1])
    return frozenset(columns)


def condition_column(table: sa.Table, condition: Condition) -> str:
    """The column a condition on an activity reads: its own, else the JSON attributes."""
    return condition.field if condition.field in table.columns else ATTRIBUTES


def distinct_values_query(table: sa.Table, column: str, activity_type: str, limit: int, name: str = "seen"
                          ) -> sa.Select[Any]:
    """At most ``limit + 1`` distinct non-NULL values of ``column`` among activities of the type.

    A recursive query asking each time for the smallest value above the last
    one: with an index on ``(activity_type, column)`` every step is one seek.
    The step counter bounds the work when the column turns out not to be
    low-cardinality. ``name``: the recursive query's, unique among those of one statement.
    """
    kind, attribute = table.c[ACTIVITY_TYPE], table.c[column]

    def smallest(*above: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
        where = (kind == activity_type, attribute.is_not(None), *above)
        return sa.select(sa.func.min(attribute)).where(*where).scalar_subquery()

    seen = sa.select(smallest().label("value"), sa.literal(1).label("step")).cte(name, recursive=True)
    following = sa.select(smallest(attribute > seen.c.value), seen.c.step + 1).where(
        seen.c.value.is_not(None), seen.c.step <= limit
    )
    seen = seen.union_all(following)
    return sa.select(seen.c.value).where(seen.c.value.is_not(None))


def matching_values(
    values: Sequence[Any], condition: Condition, as_of: dt.datetime, *, json_key: bool
) -> list[Any] | None:
    """The stored ``values`` whose attribute satisfies ``condition``, or None when a missing
    attribute would satisfy it too (rows without the column value are not in the list).

    ``json_key``: the values are JSON documents and the condition is on their key ``condition.field``.
    """
    stored = pd.Series([*values, None], dtype=object)
    attribute = extract_attribute(stored, condition.field) if json_key else stored
    matched = condition_mask(ColumnValues(attribute), condition.operator, condition.value, as_of,
                             empty_matches=condition.matches_empty)
    if matched[-1]:
        return None
    return [value for value, keep in zip(values, matched[:-1], strict=True) if keep]
