"""Counting activities per person on SQLite from the person ids joined into one text per query.

SQLite groups by sorting (``GROUP BY person_id`` costs about 0.6 s per
million rows, on one core), and fetching one row per activity costs a Python
tuple and string each (about 0.3 s per million). ``group_concat`` over the
same covering index scan hands the ids over as one text (about 0.1 s per
million), which Python splits and counts in C (``Counter``) in about as long
again: a third of the grouped query.

The ids are joined with the ASCII unit separator. The query returns the row
count beside the text, so an id that contains the separator (or a NULL id,
which ``group_concat`` skips) shows as a mismatch and the caller falls back to
the grouped query, which is exact for any id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.qualification.contract import PERSON_ID

SEPARATOR = "\x1f"


def joined_ids_query(person: ColumnElement[Any], where: Iterable[ColumnElement[bool]]) -> sa.Select[Any]:
    """One row: the number of matching rows and their person ids joined by ``SEPARATOR``."""
    joined = sa.func.group_concat(person, sa.literal(SEPARATOR, sa.Text))
    return sa.select(sa.func.count().label("n"), joined.label("ids")).where(*where)


def count_joined(pieces: Iterable[tuple[int, str | None]]) -> pd.Series | None:
    """Occurrences of each id over ``(row count, joined ids)`` pieces; None when a piece's ids do
    not split into its row count."""
    counter: Counter[str] = Counter()
    for rows, joined in pieces:
        ids = joined.split(SEPARATOR) if rows and joined is not None else []
        if len(ids) != rows:
            return None
        counter.update(ids)
    index = pd.Index(list(counter.keys()), dtype="str", name=PERSON_ID)
    return pd.Series(np.fromiter(counter.values(), dtype=np.int64, count=len(counter)), index=index)
