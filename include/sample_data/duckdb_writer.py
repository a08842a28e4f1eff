"""Bulk writing of sample data into a DuckDB file: the default embedded source (columnar, in-process).

Tables come from the contract (without its indexes: DuckDB scans columns and skips row groups by their
min/max, which is what an index does for SQLite). Chunks are appended as DataFrames; the activities are
then stored sorted by type and time, so a behaviour filter's type and window read only their row groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa
from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy.schema import CreateTable

from dynamics_campaign_sync.qualification.contract import (
    ACTIVITY_TYPE,
    OCCURRED_AT,
    activities_table,
    people_table,
)

INFO_TABLE = "sample_data_info"
_STAGING = "_activities_unsorted"


class DuckdbWriter:
    """Writes column chunks into a new DuckDB database file (same interface as ``SqliteWriter``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.path = path
        self._connection = duckdb.connect(str(path))
        self._connection.execute("SET TimeZone = 'UTC'")  # text timestamps are UTC
        metadata = sa.MetaData()
        for table in (people_table(metadata), activities_table(metadata)):
            table.indexes.clear()
            self._connection.execute(str(CreateTable(table).compile(dialect=DuckDBDialect())))
        self._connection.execute(f"CREATE TABLE {_STAGING} AS SELECT * FROM activities LIMIT 0")
        self._connection.execute(f"CREATE TABLE {INFO_TABLE} (name VARCHAR PRIMARY KEY, value VARCHAR)")

    def write(self, table: str, chunks: Iterable[dict[str, np.ndarray]]) -> int:
        """Append every chunk (a dict of equally long column arrays); returns the rows written."""
        target = _STAGING if table == "activities" else table
        written = 0
        for columns in chunks:
            chunk = pd.DataFrame(columns)  # noqa: F841 - scanned by name below
            names = ", ".join(columns)
            self._connection.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM chunk")
            written += len(chunk)
        return written

    def finish(self, info: dict[str, str]) -> None:
        """Store the activities sorted by type and time, record what was generated, and close."""
        self._connection.execute(
            f"INSERT INTO activities SELECT * FROM {_STAGING} ORDER BY {ACTIVITY_TYPE}, {OCCURRED_AT}")
        self._connection.execute(f"DROP TABLE {_STAGING}")
        self._connection.executemany(f"INSERT INTO {INFO_TABLE} VALUES (?, ?)", sorted(info.items()))
        self._connection.execute("CHECKPOINT")
        self._connection.close()


def read_duckdb_info(path: Path) -> dict[str, str]:
    """What an existing DuckDB sample database holds (empty if it is not one)."""
    if not path.exists():
        return {}
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            return dict(connection.execute(f"SELECT name, value FROM {INFO_TABLE}").fetchall())
    except duckdb.Error:
        return {}
