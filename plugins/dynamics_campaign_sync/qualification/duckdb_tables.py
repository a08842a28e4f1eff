"""DuckDB without the detours: a connection opened directly, and tables read from the catalog functions.

duckdb_engine's connect also lists every DuckDB setting (~50 ms per new connection), and SQLAlchemy's
reflection through it asks PostgreSQL catalog tables DuckDB does not have (``pg_collation``). So the
compiled path opens a file database itself (:func:`duckdb_connection`, same configuration as
duckdb_engine's, so both share the database instance) and reflects tables with one catalog query:
column names, their types mapped to SQLAlchemy's, and the primary key (which tells a snapshot from a
history table).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

_TYPES: dict[str, type[sa.types.TypeEngine]] = {
    "VARCHAR": sa.Text, "BIGINT": sa.BigInteger, "INTEGER": sa.Integer, "SMALLINT": sa.SmallInteger,
    "TINYINT": sa.SmallInteger, "HUGEINT": sa.BigInteger, "UBIGINT": sa.BigInteger, "UINTEGER": sa.BigInteger,
    "DOUBLE": sa.Float, "FLOAT": sa.Float, "BOOLEAN": sa.Boolean, "DATE": sa.Date, "JSON": sa.Text,
}


def _type(name: str) -> sa.types.TypeEngine:
    upper = name.upper()
    if upper.startswith("DECIMAL"):
        return sa.Numeric()
    if upper.startswith("TIMESTAMP"):
        return sa.DateTime(timezone="TIME ZONE" in upper)
    return _TYPES.get(upper, sa.Text)()


_OPENED: weakref.WeakKeyDictionary[sa.Engine, Any] = weakref.WeakKeyDictionary()


def _open(engine: sa.Engine) -> Any | None:
    """The engine's file database opened directly, kept for the engine's life (None: in-memory, or the
    engine's pool holds it with another configuration)."""
    import duckdb
    import duckdb_engine

    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("user"):
        return None
    if engine not in _OPENED:
        config: dict[str, Any] = {name: value if isinstance(value, str) else value[-1]
                                  for name, value in engine.url.query.items()}
        if duckdb_engine.supports_user_agent:  # as duckdb_engine sets it: configurations must be equal
            config["custom_user_agent"] = f"duckdb_engine/{duckdb_engine.__version__}(sqlalchemy/{sa.__version__})"
        try:
            _OPENED[engine] = duckdb.connect(database, config=config)
        except duckdb.ConnectionException:
            return None
    return _OPENED[engine]


@contextmanager
def duckdb_connection(engine: sa.Engine) -> Iterator[Any]:
    """A DuckDB connection (a cursor of the direct one, or else the pool's) for one piece of work."""
    opened = _open(engine)
    if opened is not None:
        cursor = opened.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    raw = engine.raw_connection()
    try:
        yield raw.driver_connection
    finally:
        raw.close()


def reflect_duckdb_tables(engine: sa.Engine, names: tuple[str, ...], schema: str | None) -> dict[str, sa.Table]:
    """The tables among ``names`` that exist, by name, from one catalog query."""
    query = """SELECT c.table_name, c.column_name, c.data_type,
            list_contains(coalesce(k.constraint_column_names, []), c.column_name), c.is_nullable
        FROM duckdb_columns() c LEFT JOIN duckdb_constraints() k ON k.constraint_type = 'PRIMARY KEY'
          AND k.database_name = c.database_name AND k.schema_name = c.schema_name AND k.table_name = c.table_name
        WHERE list_contains($names, c.table_name) AND c.schema_name = coalesce($schema, current_schema())
          AND c.database_name = current_database() ORDER BY c.table_name, c.column_index"""
    with duckdb_connection(engine) as connection:  # the catalog functions answer in a millisecond
        rows = connection.execute(query, {"names": list(names), "schema": schema}).fetchall()
    columns: dict[str, list[sa.Column[Any]]] = {}
    for table, column, kind, primary, nullable in rows:  # a primary key is NOT NULL
        columns.setdefault(table, []).append(sa.Column(column, _type(kind), primary_key=bool(primary),
                                                       nullable=bool(nullable) and not primary))
    return {name: sa.Table(name, sa.MetaData(), *found, schema=schema) for name, found in columns.items()}
