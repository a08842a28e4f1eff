"""The contract's tables as MariaDB / MySQL can hold them: the same columns, in the types a real source there has.

MariaDB indexes no TEXT column without a prefix length, and its DATETIME keeps whole seconds unless told
otherwise: indexed text becomes VARCHAR, identity columns take a binary collation (ids differing only in
case or trailing spaces stay distinct, as on the other dialects), timestamps keep microseconds, and the
index over the JSON ``attributes`` text is left out. Other dialects keep the tables as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from dynamics_campaign_sync.qualification.contract import ACTIVITY_TYPE, ATTRIBUTES, MEMBER_TYPE, PERSON_ID

IDENTITY = frozenset({PERSON_ID, MEMBER_TYPE, ACTIVITY_TYPE})


def fit_tables(metadata: sa.MetaData, dialect: str) -> None:
    """Adapt every table of ``metadata`` (before ``create_all``) to ``dialect``."""
    if dialect not in ("mysql", "mariadb"):
        return
    for table in metadata.tables.values():
        for index in list(table.indexes):
            if ATTRIBUTES in index.columns:
                table.indexes.discard(index)
        indexed = {column.name for index in table.indexes for column in index.columns}
        indexed |= {column.name for column in table.primary_key.columns}
        for column in table.columns:
            if isinstance(column.type, sa.DateTime):
                column.type = mysql.DATETIME(fsp=6)
            elif isinstance(column.type, sa.Text) and (column.name in IDENTITY or column.name in indexed):
                length = 500 if column.name == PERSON_ID else 100  # the (type, time, id) index fits
                collation = "utf8mb4_nopad_bin" if column.name in IDENTITY else None
                column.type = mysql.VARCHAR(length, charset="utf8mb4", collation=collation)


def fit_value(value: Any, dialect: str) -> Any:
    """A value as the dialect's driver binds it: MariaDB DATETIME takes naive UTC (the driver drops the zone)."""
    if dialect in ("mysql", "mariadb") and isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
