"""Dialect-specific statements the ledger needs, behind one small interface.

Upserts use ``INSERT … ON CONFLICT`` (SQLite and PostgreSQL spell it the same way, through different SQLAlchemy
constructs). Serialisation of writers uses transaction-scoped advisory locks on PostgreSQL; on SQLite the write
transaction itself (``BEGIN IMMEDIATE``) already holds the only write lock, so :func:`lock` does nothing there.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from dynamics_campaign_sync.chunking import chunked

#: Ids per IN list; well under SQLite's 32,766 bound parameters and cheap for PostgreSQL to plan.
IN_CHUNK = 5_000


def insert(connection: Connection, table: Table) -> Any:
    """An ``INSERT`` construct for ``table`` that offers ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str],
    only_if: Callable[[ReadOnlyColumnCollection[str, Any]], ColumnElement[bool]] | None = None,
) -> None:
    """Insert ``rows``; where ``key`` already exists, overwrite the ``update`` columns (when ``only_if`` holds).

    ``only_if`` receives the incoming row's columns (``excluded``) and returns the condition. ``rows`` must not
    repeat a key (PostgreSQL refuses to update a row twice in one statement).
    """
    if not rows:
        return
    statement = insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in update},
        where=only_if(statement.excluded) if only_if else None,
    )
    _execute_batched(connection, statement, table, rows)


def upsert_from_select(
    connection: Connection, table: Table, rows: Select[Any], *, key: Sequence[str], update: Sequence[str]
) -> None:
    """``INSERT … SELECT`` of all of ``table``'s columns, in order; where ``key`` exists, overwrite ``update``.
    The rows never leave the database. (SQLite needs the ``SELECT`` to have a ``WHERE`` clause.)"""
    statement = insert(connection, table).from_select([column.name for column in table.columns], rows)
    connection.execute(statement.on_conflict_do_update(
        index_elements=list(key), set_={name: statement.excluded[name] for name in update}))


def insert_missing(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str]
) -> None:
    """Insert those of ``rows`` whose ``key`` is not there yet."""
    if rows:
        statement = insert(connection, table).on_conflict_do_nothing(index_elements=list(key))
        _execute_batched(connection, statement, table, rows)


#: Rows per multi-row ``VALUES`` statement with psycopg2 (its ``execute_values`` pages).
PAGE_ROWS = 1_000


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
    skip_existing: Sequence[str] | None = None,
) -> None:
    """Insert many rows (value tuples in ``columns`` order) straight through the driver, in the current
    transaction: one statement, each column's type conversion applied per value, no per-row parameter
    dictionaries (what makes SQLAlchemy's executemany cost seconds per 100,000 rows). ``skip_existing``: a
    key whose existing rows are kept (``ON CONFLICT … DO NOTHING``)."""
    dialect = connection.dialect
    converters = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    values = [tuple(value if convert is None else convert(value) for convert, value in zip(converters, row,
                                                                                          strict=True))
              for row in rows]
    if not values:
        return
    preparer = dialect.identifier_preparer
    head = f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)}) VALUES "
    tail = f" ON CONFLICT ({', '.join(preparer.quote(c) for c in skip_existing)}) DO NOTHING" if skip_existing else ""
    cursor = connection.connection.cursor()  # the DBAPI cursor of this transaction's connection
    try:
        if dialect.driver == "psycopg2":  # its executemany sends one statement per row
            extras = importlib.import_module("psycopg2.extras")
            extras.execute_values(cursor, head + "%s" + tail, values, page_size=PAGE_ROWS)
        else:
            marker = "?" if dialect.paramstyle == "qmark" else "%s"
            cursor.executemany(f"{head}({', '.join(marker for _ in columns)}){tail}", values)
    finally:
        cursor.close()


def _execute_batched(
    connection: Connection, statement: Any, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Execute an ``INSERT … ON CONFLICT`` for many rows as a few multi-row statements.

    SQLAlchemy only batches ("insertmanyvalues") an ``ON CONFLICT`` insert that has a ``RETURNING`` clause;
    without one, psycopg2 would send one statement per row. The returned keys are not needed.
    """
    returning = statement.returning(*table.primary_key.columns)
    connection.execute(returning, list(rows)).close()


def lock(connection: Connection, *parts: str) -> None:
    """Serialise writers that name the same ``parts`` until the current transaction ends (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b("\x1f".join(("campaign_sync_ledger", *parts)).encode(), digest_size=8).digest()
    connection.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))


def values_in(
    connection: Connection, query: Select[Any], column: ColumnElement[Any], values: Sequence[str]
) -> list[Any]:
    """The first column of ``query`` restricted to ``column IN values`` (in chunks)."""
    return [row[0] for row in rows_in(connection, query, column, values)]


def rows_in(
    connection: Connection, query: Select[Any], column: ColumnElement[Any], values: Sequence[str]
) -> list[Row[Any]]:
    """Run ``query`` restricted to ``column IN values``, in chunks, and gather the rows."""
    found: list[Row[Any]] = []
    for chunk in chunked(values, IN_CHUNK):
        found.extend(connection.execute(query.where(column.in_(chunk))))
    return found
