"""Bulk writing of sample data into SQLite, in chunks, with indexes built after the load.

The table definitions come from the qualification layer's contract, so the
generated database is exactly what the SQL source expects. Loading uses the
standard ``sqlite3`` module with journaling off (a fresh file is rebuilt from
scratch if anything fails) and creates the indexes once at the end, which is
several times faster than maintaining them row by row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from dynamics_campaign_sync.qualification.contract import activities_table, people_table

INFO_TABLE = "sample_data_info"


def _ddl() -> tuple[list[str], dict[str, str]]:
    """CREATE TABLE statements of the contract tables and their CREATE INDEX statements by index name,
    for SQLite."""
    metadata = sa.MetaData()
    tables = [people_table(metadata), activities_table(metadata)]
    dialect = sqlite.dialect()
    creates = [str(CreateTable(table).compile(dialect=dialect)) for table in tables]
    indexes = {
        str(index.name): str(CreateIndex(index).compile(dialect=dialect))
        for table in tables
        for index in sorted(table.indexes, key=lambda index: str(index.name))
    }
    return creates, indexes


class SqliteWriter:
    """Writes column chunks into a new SQLite database file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        self.path = path
        self._connection = sqlite3.connect(path)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-512000", "locking_mode=EXCLUSIVE"):
            self._connection.execute(f"PRAGMA {pragma}")
        creates, self._indexes = _ddl()
        for statement in creates:
            self._connection.execute(statement)
        self._connection.execute(f"CREATE TABLE {INFO_TABLE} (name TEXT PRIMARY KEY, value TEXT)")

    def write(self, table: str, chunks: Iterable[dict[str, np.ndarray]]) -> int:
        """Insert every chunk (a dict of equally long column arrays); returns the rows written."""
        written = 0
        for columns in chunks:
            names = list(columns)
            marks = ", ".join("?" * len(names))
            rows = zip(*(columns[name].tolist() for name in names), strict=True)
            self._connection.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)
            written += len(columns[names[0]])
        self._connection.commit()
        return written

    def finish(self, info: dict[str, str]) -> None:
        """Build the indexes, record what was generated, and close."""
        for statement in self._indexes.values():
            self._connection.execute(statement)
        self._connection.executemany(f"INSERT INTO {INFO_TABLE} VALUES (?, ?)", sorted(info.items()))
        self._connection.commit()
        self._connection.execute("ANALYZE")
        self._connection.close()


def add_missing_indexes(path: Path) -> list[str]:
    """Create the contract's indexes that an existing sample database lacks; returns their names.

    A database generated before an index was recommended keeps its rows (regenerating takes
    minutes at benchmark size) and gains the index, analysed so the planner uses it.
    """
    _, indexes = _ddl()
    with sqlite3.connect(path) as connection:
        existing = {
            row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        missing = [name for name in indexes if name not in existing]
        connection.execute("PRAGMA cache_size=-512000")  # index builds sort in memory
        for name in missing:
            connection.execute(indexes[name])
            connection.execute(f"ANALYZE {name}")
    connection.close()
    return missing


def read_info(path: Path) -> dict[str, str]:
    """What an existing sample database holds (empty if it is not one)."""
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            return dict(connection.execute(f"SELECT name, value FROM {INFO_TABLE}").fetchall())
    except sqlite3.Error:
        return {}
